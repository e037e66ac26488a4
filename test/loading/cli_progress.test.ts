// `wgpool serve` writes the load's progress to stderr: a line per phase and per 10%, then ready.
import { describe, expect, it } from 'vitest';
import { LoadTracker, progressLines } from '../../src/loading/progress';
import { main } from '../../src/serve/cli';
import { FakeEngine } from '../../src/serve/fake_engine';

describe('progress lines', () => {
  it('one line per phase change and per 10%, ready last', () => {
    const lines: string[] = [];
    const t = new LoadTracker(progressLines('org/m', (l) => lines.push(l)));
    t.plan([{ path: 'model.safetensors', size: 1000 }]);
    for (let b = 100; b <= 1000; b += 100) t.download('model.safetensors', b, 1000);
    t.expect('parse', 1);
    t.advance('parse', 'config.json', 1);
    t.expect('upload', 4000);
    t.advance('upload', 'w', 4000);
    t.expect('compile', 2);
    t.advance('compile', 'a', 1);
    t.advance('compile', 'b', 1);
    t.ready();
    expect(lines[0]).toBe('wgpool: loading org/m: download 7% (0.0/0.0 MB)');
    expect(lines).toContain('wgpool: loading org/m: download 70% (0.0/0.0 MB)');
    expect(lines).toContain('wgpool: loading org/m: compile 95% (1/2 kernels)');
    expect(lines[lines.length - 1]).toMatch(/^wgpool: loading org\/m: ready 100% in \d+ ms$/);
    expect(lines.length).toBeLessThan(16);
  });

  it('serve passes a progress callback and prints its lines on stderr (not with --quiet)', async () => {
    for (const quiet of [false, true]) {
      const err: string[] = [];
      const shutdown = new AbortController();
      const code = await main(['serve', 'org/a', '--port', '0', ...(quiet ? ['-q'] : [])], {
        out: () => shutdown.abort(),
        err: (l) => void err.push(l),
        signals: false,
        shutdown: shutdown.signal,
        createEngine: async (opts) => {
          const t = new LoadTracker(opts.onProgress);
          t.plan([{ path: 'model.safetensors', size: 2e6 }]);
          t.download('model.safetensors', 2e6, 2e6);
          t.ready();
          return new FakeEngine();
        },
      });
      expect(code).toBe(0);
      const progress = err.filter((l) => l.startsWith('wgpool: loading org/a:'));
      if (quiet) expect(progress).toEqual([]);
      else expect(progress).toEqual(['wgpool: loading org/a: download 70% (2.0/2.0 MB)', expect.stringMatching(/ready 100% in \d+ ms$/)]);
    }
  });
});
