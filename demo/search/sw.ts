// The search app's Service Worker (Workbox, built by vite-plugin-pwa's injectManifest): it makes the
// app installable and fully usable offline after one visit.
//
// Scope: /demo/search/ (the folder it is served from). The project's own wgpool Service Worker
// (src/serve/sw_entry.ts → /sw.js, registered by the task playground) keeps scope / and the
// /wgpool/v1/* HTTP API; a page under /demo/search/ is controlled by this one (the longer scope
// wins), so the two never compete for a page and neither needs to know about the other.
//
// Precached at install (self.__WB_MANIFEST, listed at build time): the two pages, their scripts and
// styles, the engine worker, the manifest and icons, the reverse dictionary's index file, and every
// file of the two model folders (vite.config.ts lists them). Model loading probes optional files
// with HEAD and expects a 404 for the absent ones (modules.json of the reranker, …): a model folder
// is precached whole, so a path under it that is not in the precache is answered 404 here, online
// or not, and a HEAD is answered from the precached GET.
/// <reference lib="webworker" />
import { clientsClaim } from 'workbox-core';
import { cleanupOutdatedCaches, matchPrecache, precacheAndRoute, type PrecacheEntry } from 'workbox-precaching';
import type { RouteHandlerCallback } from 'workbox-core/types';
import { registerRoute } from 'workbox-routing';
import { CacheFirst } from 'workbox-strategies';

declare const self: ServiceWorkerGlobalScope & { __WB_MANIFEST: (string | PrecacheEntry)[] };

const manifest = self.__WB_MANIFEST;
const urlOf = (e: string | PrecacheEntry) => new URL(typeof e === 'string' ? e : e.url, self.location.origin);
/** '/models/wordnet-bert-embed/' and the like: folders precached whole. */
const modelFolders = [...new Set(manifest.map(urlOf).filter((u) => u.pathname.startsWith('/models/')).map((u) => u.pathname.split('/').slice(0, 3).join('/') + '/'))];

self.skipWaiting();
clientsClaim();
cleanupOutdatedCaches();
precacheAndRoute(manifest);

const modelFile: RouteHandlerCallback = async ({ request, url }) => {
  const cached = await matchPrecache(url.pathname);
  if (cached) return request.method === 'HEAD' ? new Response(null, { status: cached.status, statusText: cached.statusText, headers: cached.headers }) : cached;
  if (modelFolders.some((f) => url.pathname.startsWith(f))) return new Response('not found', { status: 404, statusText: 'Not Found' });
  return fetch(request);
};
const isModel = ({ url }: { url: URL }) => url.origin === self.location.origin && modelFolders.some((f) => url.pathname.startsWith(f));
registerRoute(isModel, modelFile, 'GET');
registerRoute(isModel, modelFile, 'HEAD');

// Anything else the app's pages and worker load from this origin (a chunk the precache list missed,
// another model a user typed in): cached on first use. Hashed file names never change content.
registerRoute(
  ({ url, request }) => url.origin === self.location.origin && request.method === 'GET' && !url.pathname.startsWith('/wgpool/'),
  new CacheFirst({ cacheName: 'wgpool-search-runtime' }),
);
