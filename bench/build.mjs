// Bundle a bench entry (TypeScript + `?raw` WGSL imports) into one Node ES module under .bench/,
// so benchmarks run with plain `node` — not through vitest, which is for tests.
//
//   node bench/build.mjs bench/matmul/node.ts      → .bench/matmul/node.mjs
//
// `webgpu` (Dawn's native addon) stays an external runtime import: src/gpu/device.ts loads it with a
// computed specifier, and a .node binary cannot be bundled anyway. Everything else is inlined.

import { basename, dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const OUT_DIR = resolve(ROOT, '.bench');

/** Build `entry` (a path relative to the repo root) and return the absolute path of the bundle. */
export async function buildBench(entry) {
  const abs = resolve(ROOT, entry);
  // bench/matmul/node.ts → .bench/matmul/node.mjs
  // (an entry outside bench/ lands directly in .bench/, so `webgpu` still resolves from node_modules).
  const rel = relative(resolve(ROOT, 'bench'), abs);
  const sub = rel.startsWith('..') ? '.' : dirname(rel);
  const name = basename(abs).replace(/\.ts$/, '');
  const outDir = resolve(OUT_DIR, sub);
  await build({
    configFile: false,
    root: ROOT,
    logLevel: 'warn',
    build: {
      ssr: abs,
      outDir,
      emptyOutDir: false,
      target: 'node20',
      minify: false,
      sourcemap: false,
      rollupOptions: {
        external: ['webgpu'],
        output: { entryFileNames: `${name}.mjs`, format: 'es' },
      },
    },
    // Inline every dependency except Dawn, so the bundle runs wherever `webgpu` resolves.
    ssr: { noExternal: true, external: ['webgpu'], target: 'node' },
  });
  return resolve(outDir, `${name}.mjs`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const entries = process.argv.slice(2);
  if (entries.length === 0) {
    console.error('usage: node bench/build.mjs <entry.ts>...');
    process.exit(2);
  }
  for (const e of entries) console.log(relative(process.cwd(), await buildBench(e)));
}
