// Transformers.js in the page, fully offline: onnxruntime-web's runtime (.mjs + .wasm) comes from
// this page's own origin (vite serves it in dev and copies it into the build through `?url`), and
// models from a URL prefix on this origin through env.localModelPath, never from the hub or a CDN.

import ortMjsUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.mjs?url';
import ortWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import type { TjsModule } from '../../bench/e2e/systems';

let loaded: Promise<TjsModule> | null = null;

export interface TjsSetup {
  tjs: TjsModule;
  /** WASM threads in effect: more than one only when the page is cross-origin isolated. */
  threads: number;
}

/**
 * Load @huggingface/transformers once and point it at `modelsBase` (an absolute path on this origin
 * ending in '/', under which each model is a folder: Transformers.js takes an http(s) URL there for
 * a remote location, which offline mode refuses). ORT reads numThreads when its WASM runtime starts, so the
 * first call decides the thread count.
 */
export async function setupTjs(modelsBase: string, threads = navigator.hardwareConcurrency || 1): Promise<TjsSetup> {
  loaded ??= import('@huggingface/transformers').then((m) => m as unknown as TjsModule);
  const tjs = await loaded;
  const env = tjs.env;
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = modelsBase;
  // Neither system caches between runs: each load measures files coming over the (local) network.
  env.useBrowserCache = false;
  env.useWasmCache = false;
  const wasm = env.backends.onnx.wasm!;
  wasm.wasmPaths = { mjs: new URL(ortMjsUrl, location.href).href, wasm: new URL(ortWasmUrl, location.href).href };
  const effective = crossOriginIsolated ? threads : 1;
  wasm.numThreads = effective;
  return { tjs, threads: effective };
}
