// The offline cache in Chromium (Cache Storage). Steps, run in one page while the Playwright test
// switches the network off and on around them:
//   load   — load the model by URL prefix, embed, report the download events and the cache listing;
//   probe  — whether the network answers at all (it must not, offline);
//   delete — deleteCachedModel(url), then the listing;
//   quota  — load with a quota too small for the weights (set by the test through CDP).
import { createEngine, deleteCachedModel, listCachedModels, type LoadProgress } from '../../../../src/index';

const MODEL = new URL('/models/tiny-bert-embed', location.href).href;

export default async function run(args: { step: 'load' | 'probe' | 'delete' | 'quota' }) {
  if (args.step === 'probe') {
    return fetch(`${MODEL}/config.json`, { cache: 'no-store' }).then(
      (r) => `status ${r.status}`,
      (e: Error) => `failed: ${e.name}`,
    );
  }
  if (args.step === 'delete') {
    const deleted = await deleteCachedModel(MODEL);
    return { deleted, list: await listCachedModels(), keys: (await (await caches.open('wgpool-v1')).keys()).length };
  }
  const events: LoadProgress[] = [];
  try {
    const engine = await createEngine({ model: MODEL, onProgress: (e) => events.push(e) });
    const embedding = Array.from((await engine.embed('hello world')).embeddings[0] as ArrayLike<number>);
    await engine.dispose();
    const downloads = events.filter((e) => e.phase === 'download');
    const last = downloads[downloads.length - 1];
    let monotonic = true;
    for (let i = 1; i < events.length; i++) monotonic &&= events[i].progress >= events[i - 1].progress;
    return {
      ok: true,
      embedding,
      download: { loaded: last?.loaded, total: last?.total },
      end: events[events.length - 1],
      monotonic,
      list: await listCachedModels(),
    };
  } catch (e) {
    return { ok: false, error: `${(e as Error).name}: ${(e as Error).message}`, status: (e as { status?: number }).status, list: await listCachedModels() };
  }
}
