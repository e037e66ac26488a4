#!/bin/sh
# wgpool GPU benchmark kit: runs on a bare Linux x86-64 machine with a GPU driver — no Node, no
# Vulkan loader, no network needed. Everything it needs travels compressed in this folder and is
# unpacked into a scratch directory (this folder may be read-only).
#
#   ./run.sh [--quick] [--models minilm-l6,bge-base] [--batches 1,8,32] [--seqs 128,512] [--runs N]
#
# Prints one JSON document on stdout: wgpool (Node + Dawn + Vulkan) tokens/s per batch × sequence
# and matmul GFLOP/s, and — when python3 has torch with CUDA — the same random models through
# transformers on CUDA as a reference. Progress goes to stderr.
# Environment: VK_ICD_FILENAMES (default: the NVIDIA ICD, found or written), WGPOOL_KIT_RUN (scratch
# directory, default $TMPDIR/wgpool-kit-<uid>), WGPOOL_KIT_NO_TORCH=1 (skip the reference).
set -eu
KIT=$(cd "$(dirname "$0")" && pwd)
RUN="${WGPOOL_KIT_RUN:-${TMPDIR:-/tmp}/wgpool-kit-$(id -u)}"
mkdir -p "$RUN/node_modules/webgpu/dist/linux-x64" "$RUN/lib"
say() { echo "[run.sh] $*" >&2; }
LDCONFIG=$(command -v ldconfig 2>/dev/null || echo /sbin/ldconfig)

unxz_to() { # unxz_to SRC.xz DEST (atomic; skipped when DEST was unpacked from this very SRC)
  # The scratch directory outlives a kit: a rebuilt kit must not run an older kit's node or dawn.node.
  stamp=$(cksum < "$1")
  [ -s "$2" ] && [ "$(cat "$2.stamp" 2>/dev/null)" = "$stamp" ] && return 0
  rm -f "$2.stamp"
  if command -v xz >/dev/null 2>&1; then xz -dc "$1" > "$2.part"
  elif command -v python3 >/dev/null 2>&1; then
    python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$1" > "$2.part"
  else say "need xz or python3 to unpack $1"; exit 1; fi
  chmod +x "$2.part" && mv "$2.part" "$2" && echo "$stamp" > "$2.stamp"
}
unxz_to "$KIT/node.xz" "$RUN/node"
unxz_to "$KIT/dawn.node.xz" "$RUN/node_modules/webgpu/dist/linux-x64/dawn.node"
cp "$KIT/webgpu/package.json" "$KIT/webgpu/index.js" "$RUN/node_modules/webgpu/"
cp "$KIT/bench.mjs" "$RUN/bench.mjs"
cp "$KIT/lib/libvulkan.so.1" "$RUN/lib/libvulkan.so.1"
LIBS="$RUN/lib"
# Node and dawn.node need libstdc++ / libgcc_s; use the machine's when it has them.
if ! ("$LDCONFIG" -p 2>/dev/null | grep -q 'libstdc++.so.6 ') && [ ! -e /usr/lib/x86_64-linux-gnu/libstdc++.so.6 ] && [ ! -e /usr/lib64/libstdc++.so.6 ]; then
  mkdir -p "$RUN/fallback"
  unxz_to "$KIT/fallback/libstdc++.so.6.xz" "$RUN/fallback/libstdc++.so.6"
  unxz_to "$KIT/fallback/libgcc_s.so.1.xz" "$RUN/fallback/libgcc_s.so.1"
  LIBS="$LIBS:$RUN/fallback"
  say "using the kit's libstdc++ (none on this machine)"
fi

# The Vulkan driver: NVIDIA's ICD manifest where the driver installed one; containers often mount
# the driver library (libGLX_nvidia.so.0) without the manifest, so write one pointing at it.
if [ -z "${VK_ICD_FILENAMES:-}" ]; then
  for f in /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json \
           /usr/share/vulkan/icd.d/nvidia_icd.x86_64.json /usr/local/share/vulkan/icd.d/nvidia_icd.json; do
    if [ -f "$f" ]; then VK_ICD_FILENAMES=$f; break; fi
  done
fi
if [ -z "${VK_ICD_FILENAMES:-}" ]; then
  glx=$("$LDCONFIG" -p 2>/dev/null | awk '/libGLX_nvidia\.so\.0 /{print $NF; exit}')
  for d in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do
    [ -n "$glx" ] && break
    [ -e "$d/libGLX_nvidia.so.0" ] && glx="$d/libGLX_nvidia.so.0"
  done
  if [ -n "$glx" ]; then
    printf '{"file_format_version":"1.0.0","ICD":{"library_path":"%s","api_version":"1.3.0"}}\n' "$glx" > "$RUN/nvidia_icd.json"
    VK_ICD_FILENAMES="$RUN/nvidia_icd.json"
    say "wrote $RUN/nvidia_icd.json for $glx"
  else
    say "no NVIDIA Vulkan ICD found (set VK_ICD_FILENAMES); trying the loader's defaults"
  fi
fi
[ -n "${VK_ICD_FILENAMES:-}" ] && export VK_ICD_FILENAMES && say "VK_ICD_FILENAMES=$VK_ICD_FILENAMES"
export LD_LIBRARY_PATH="$LIBS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

"$RUN/node" "$RUN/bench.mjs" --work "$RUN" "$@" > "$RUN/wgpool.json"

torch_json=null
if [ -z "${WGPOOL_KIT_NO_TORCH:-}" ] && command -v python3 >/dev/null 2>&1 &&
   python3 -c 'import sys, torch, transformers; sys.exit(0 if torch.cuda.is_available() else 1)' >/dev/null 2>&1; then
  say "torch with CUDA found: transformers reference"
  if python3 "$KIT/ref_torch.py" "$@" > "$RUN/torch.json"; then torch_json="$RUN/torch.json"; else say "transformers reference failed"; fi
else
  say "no torch + transformers with CUDA: reference skipped"
fi
"$RUN/node" -e '
  const fs = require("fs");
  const out = { wgpool: JSON.parse(fs.readFileSync(process.argv[1], "utf8")) };
  out.transformers_cuda = process.argv[2] === "null" ? null : JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
  console.log(JSON.stringify(out, null, 2));
' "$RUN/wgpool.json" "$torch_json"
