// Errors are typed and stable: every error wgpool throws is one of the classes in src/gpu/errors.ts
// (each with an HTTP status), never a bare Error / TypeError / RangeError; an abort is the one
// exception (an Error named AbortError, as fetch() rejects). The source scan below keeps it so as
// the code grows; the fuzz suites check the same at run time, and this file checks the classes'
// statuses and that they survive the worker boundary.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  BadRequestError, ERROR_CLASSES, EngineDisposedError, GpuError, GpuLostError, InternalError, ModelLoadError, NotFoundError, OverloadedError, WgpoolError,
  abortError, errorFromWire,
} from '../../src/gpu/errors';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === 'generated' ? [] : sourceFiles(p);
    return p.endsWith('.ts') && !p.endsWith('.test.ts') && !p.endsWith('.d.ts') ? [p] : [];
  });
}

describe('typed errors', () => {
  it('src/ constructs no untyped error (only abortError makes a plain Error, named AbortError)', () => {
    const offenders: string[] = [];
    for (const file of sourceFiles(SRC)) {
      const lines = readFileSync(file, 'utf8').split('\n');
      lines.forEach((line, i) => {
        if (/\bnew (Type|Range|Syntax|Reference|Eval|URI)?Error\(|\bthrow Error\(|Promise\.reject\(['"`]|\bthrow ['"`]/.test(line)) {
          const rel = file.slice(SRC.length + 1);
          if (rel === 'gpu/errors.ts' && line.includes("typeof reason === 'string'")) return; // abortError
          offenders.push(`src/${rel}:${i + 1}: ${line.trim()}`);
        }
      });
    }
    expect(offenders).toStrictEqual([]);
  });

  it('each class has its documented status and type', () => {
    const table = [
      [new BadRequestError('x'), 400, 'BadRequestError'],
      [new ModelLoadError('x'), 400, 'BadRequestError'],
      [new NotFoundError('x'), 404, 'NotFoundError'],
      [new OverloadedError('x'), 429, 'TooManyRequestsError'],
      [new GpuError('x'), 500, 'InternalServerError'],
      [new InternalError('x'), 500, 'InternalServerError'],
      [new EngineDisposedError(), 503, 'ServiceUnavailableError'],
      [new GpuLostError('x', 'destroyed', true), 503, 'ServiceUnavailableError'],
    ] as const;
    for (const [err, status, type] of table) {
      expect(err).toBeInstanceOf(WgpoolError);
      expect([err.name, err.status, err.type]).toStrictEqual([err.constructor.name, status, type]);
    }
    expect(ERROR_CLASSES.length).toBe(table.length + 1);
    expect(new EngineDisposedError()).not.toBeInstanceOf(BadRequestError);
    expect(abortError().name).toBe('AbortError');
  });

  it('errors rebuilt from a worker message keep their class, status and name', () => {
    for (const err of [new BadRequestError('bad'), new ModelLoadError('load'), new NotFoundError('nf'), new OverloadedError('busy'), new GpuError('gpu'), new InternalError('bug'), new EngineDisposedError()]) {
      const back = errorFromWire({ name: err.name, message: err.message, status: err.status, type: err.type });
      expect(back).toBeInstanceOf(err.constructor);
      expect([back.name, back.message, (back as WgpoolError).status]).toStrictEqual([err.name, err.message, err.status]);
    }
    // A subclass the page does not know (IndexCapacityError …) keeps its name and status.
    const other = errorFromWire({ name: 'IndexCapacityError', message: 'full', status: 400, type: 'BadRequestError' });
    expect(other).toBeInstanceOf(WgpoolError);
    expect([other.name, (other as WgpoolError).status]).toStrictEqual(['IndexCapacityError', 400]);
    expect(errorFromWire({ name: 'AbortError', message: 'stop' }).name).toBe('AbortError');
  });
});
