// The committed WebAssembly (src/cpu/generated/kernels.ts) must come from the current AssemblyScript
// sources: the same hash scripts/build-wasm.mjs records. Node only (reads the source files).
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SOURCE_HASH } from './generated/kernels';
import { detectSimd } from './wasm';

describe('generated WebAssembly', () => {
  it('was built from the current src/cpu/assembly sources (npm run build:wasm)', () => {
    const dir = fileURLToPath(new URL('./assembly', import.meta.url));
    const h = createHash('sha256');
    for (const f of readdirSync(dir).filter((f) => f.endsWith('.ts')).sort()) {
      h.update(f);
      h.update(readFileSync(`${dir}/${f}`));
    }
    expect(SOURCE_HASH).toBe(h.digest('hex').slice(0, 16));
  });
});

describe('SIMD detection', () => {
  it('finds 128-bit SIMD here (relaxed with the Node 20 flag vitest passes)', () => {
    expect(['simd128', 'relaxed-simd']).toContain(detectSimd());
  });
});
