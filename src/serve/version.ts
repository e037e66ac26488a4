// The version GET /version reports ({"version": "…"}, as vLLM's route does). Kept equal to
// package.json's by src/serve/version.test.ts.
export const WGPOOL_VERSION = '0.1.0';
