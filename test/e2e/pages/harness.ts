// Browser-side entry for the e2e suites: `harness.html?suite=NAME` imports suites/NAME.ts, whose
// default export runs in the page and returns JSON-able results for the Playwright test to assert.
const suites = import.meta.glob('./suites/*.ts');

declare global {
  interface Window {
    runSuite: (args?: unknown) => Promise<unknown>;
    suiteReady: boolean;
  }
}

const name = new URLSearchParams(location.search).get('suite');
const loader = suites[`./suites/${name}.ts`];
if (!loader) throw new Error(`unknown suite ${name}`);
const mod = (await loader()) as { default: (args?: unknown) => Promise<unknown> };
window.runSuite = (args) => mod.default(args);
window.suiteReady = true;
