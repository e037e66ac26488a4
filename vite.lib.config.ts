import { defineConfig } from 'vite';

// The library build: ESM for browsers and Node, WGSL inlined from shaders/ (imported with ?raw),
// dependencies left external. Type declarations come from tsconfig.build.json.
export default defineConfig({
  build: {
    outDir: 'dist/lib',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    minify: false,
    lib: {
      entry: { index: 'src/index.ts', worker: 'src/worker/index.ts', 'worker-script': 'src/worker/worker.ts', 'shared-worker-script': 'src/worker/shared_worker.ts' },
      formats: ['es'],
    },
    rollupOptions: {
      external: [/^node:/, 'webgpu', '@huggingface/tokenizers'],
    },
  },
});
