// The app's engine worker: wgpool's ready-made (Shared)Worker script, started from a file in this
// folder so its URL lies inside the app's Service Worker scope (/demo/search/). A worker is
// controlled by the Service Worker whose scope holds its script URL; from here, every model file
// the engine fetches goes through the app's cache, and the models load offline.
import '../../src/worker/shared_worker';
