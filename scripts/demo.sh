#!/usr/bin/env bash
# The main job: install what is missing, build the demo pages with the library, and serve them on
# loopback together with the tiny random-weight models of test/fixtures (served under /models/ by
# vite.config.ts, laid out like a Hugging Face repo).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npx vite build
PORT="${PORT:-4173}"
echo "wgpool demo: http://127.0.0.1:${PORT}/  (open it in a browser with WebGPU; Ctrl-C stops)"
exec npx vite preview --host 127.0.0.1 --port "$PORT" --strictPort
