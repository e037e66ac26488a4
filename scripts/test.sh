#!/usr/bin/env bash
# The test command: install what is missing, typecheck, run the Node suites (Dawn + SwiftShader)
# and the browser suites (Playwright + Debian Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export VK_ICD_FILENAMES="${VK_ICD_FILENAMES:-/usr/lib/chromium/vk_swiftshader_icd.json}"
npx tsc --noEmit
npx vitest run
# The kernel suites once more inside Chromium (navigator.gpu), then the page/worker end-to-end suites.
npx vitest run --config vitest.browser.config.ts
npx playwright test
