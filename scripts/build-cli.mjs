// Bundles the `wgpool` command (src/serve/cli.ts) into dist/cli/cli.mjs for plain Node ≥ 20, which
// cannot load TypeScript or vite's `?raw` WGSL imports. Everything is inlined except Node's
// builtins and `webgpu` (Dawn: a native addon, loaded at run time from node_modules), so the bundle
// plus dawn.node is all a machine needs. Run with `npm run build:cli`; bin/wgpool.mjs starts it.
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const root = fileURLToPath(new URL('..', import.meta.url));
const external = ['webgpu', /^node:/, ...builtinModules];

await build({
  root,
  // The project's vite.config.ts is for the demo pages and vitest; this build needs none of it.
  configFile: false,
  logLevel: 'warn',
  ssr: { noExternal: true, target: 'node' },
  build: {
    ssr: 'src/serve/cli.ts',
    target: 'node20',
    outDir: 'dist/cli',
    emptyOutDir: true,
    minify: false,
    sourcemap: true,
    rolldownOptions: {
      external,
      output: { entryFileNames: 'cli.mjs', format: 'es' },
    },
  },
});
console.log('wgpool: built dist/cli/cli.mjs');
