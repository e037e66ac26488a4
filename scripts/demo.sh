#!/usr/bin/env bash
# The main job: install what is missing, build the demo pages with the library, and serve them on
# loopback with the WordNet demo models (demo/models) and the tiny random-weight models of
# test/fixtures (served under /models/ by vite.config.ts, laid out like a Hugging Face repo).
# The search app comes first: it is what a visitor should see.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npx vite build
PORT="${PORT:-4173}"
APP="/demo/search/index.html"
echo "wgpool search app:   http://127.0.0.1:${PORT}${APP}  (installable, works offline after one visit)"
echo "reverse dictionary:  http://127.0.0.1:${PORT}/demo/search/dictionary.html"
echo "task playground:     http://127.0.0.1:${PORT}/   benchmark: http://127.0.0.1:${PORT}/demo/bench/"
echo "(open them in a browser with WebGPU; Ctrl-C stops)"
# Open the search app first where there is a desktop to open it on (not on a headless server).
OPEN=()
if [[ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" || "$(uname)" == Darwin ]] && [[ -z "${CI:-}" ]]; then OPEN=(--open "$APP"); fi
exec npx vite preview --host 127.0.0.1 --port "$PORT" --strictPort "${OPEN[@]}"
