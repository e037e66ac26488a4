// npm run bench:kit [-- --out DIR]: writes the GPU benchmark kit, one self-contained folder
// (default .bench/gpu-kit, at most 64 MiB) that runs with ./run.sh on a bare Linux x86-64 machine
// with a GPU driver — no Node, no Vulkan loader, no network:
//
//   bench.mjs          bench/kit/node.ts bundled for Node (wgpool, the matmul bench, the model
//                      synthesizer and the tokenizer inlined; `webgpu` resolved from ./webgpu)
//   node.xz            this machine's node binary, xz-compressed
//   dawn.node.xz       Dawn's Node addon from node_modules/webgpu, with its index.js / package.json
//   lib/libvulkan.so.1 the Vulkan loader, from Debian's libvulkan1 package (apt-get download)
//   fallback/          libstdc++ / libgcc_s (xz), used only where the machine has none
//   run.sh, ref_torch.py (transformers on CUDA, when torch is there), README.txt
//
// The compressed binaries are cached under .bench/kit-cache (xz of a 99 MB node takes a while).

import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildBench, ROOT } from '../bench/build.mjs';

const LIMIT = 64 * 1024 * 1024;
const { values: args } = parseArgs({ options: { out: { type: 'string' } } });
const out = resolve(args.out ?? join(ROOT, '.bench/gpu-kit'));
const cache = join(ROOT, '.bench/kit-cache');
mkdirSync(cache, { recursive: true });
const log = (s) => console.error(`bench:kit: ${s}`);

/** xz -9 of `src` into `dest`, reusing the cached copy while src's size and mtime are unchanged. */
function xzCached(src, dest) {
  const st = statSync(src);
  const key = join(cache, `${src.replace(/[^A-Za-z0-9.]+/g, '_')}.${st.size}.${Math.floor(st.mtimeMs)}.xz`);
  if (!existsSync(key)) {
    log(`xz ${src} (${(st.size / 2 ** 20).toFixed(1)} MiB)…`);
    execFileSync('sh', ['-c', `xz -9e -T0 -c "$1" > "$2.part" && mv "$2.part" "$2"`, 'xz', src, key], { stdio: 'inherit' });
  }
  copyFileSync(key, dest);
}

function libvulkan(dest) {
  const cached = join(cache, 'libvulkan.so.1');
  if (!existsSync(cached)) {
    const tmp = mkdtempSync(join(tmpdir(), 'wgpool-kit-deb-'));
    try {
      log('apt-get download libvulkan1');
      execFileSync('apt-get', ['download', 'libvulkan1'], { cwd: tmp, stdio: 'inherit' });
      const deb = readdirSync(tmp).find((f) => f.endsWith('.deb'));
      if (!deb) throw new Error('apt-get download libvulkan1 wrote no .deb');
      execFileSync('dpkg-deb', ['-x', deb, 'x'], { cwd: tmp });
      copyFileSync(realpathSync(join(tmp, 'x/usr/lib/x86_64-linux-gnu/libvulkan.so.1')), cached);
      writeFileSync(join(cache, 'libvulkan.origin'), `${deb}\n`);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  copyFileSync(cached, dest);
}

function systemLib(name) {
  const line = execFileSync('sh', ['-c', `ldconfig -p | awk '/${name.replace(/[.+]/g, '\\$&')} \\(libc6,x86-64\\)/{print $NF; exit}'`]).toString().trim();
  if (!line) throw new Error(`${name} not found by ldconfig`);
  return realpathSync(line);
}

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'webgpu'), { recursive: true });
mkdirSync(join(out, 'lib'));
mkdirSync(join(out, 'fallback'));

log('bundling bench/kit/node.ts');
copyFileSync(await buildBench('bench/kit/node.ts'), join(out, 'bench.mjs'));
const webgpu = join(ROOT, 'node_modules/webgpu');
copyFileSync(join(webgpu, 'package.json'), join(out, 'webgpu/package.json'));
copyFileSync(join(webgpu, 'index.js'), join(out, 'webgpu/index.js'));
xzCached(join(webgpu, 'dist/linux-x64/dawn.node'), join(out, 'dawn.node.xz'));
xzCached(realpathSync(process.execPath), join(out, 'node.xz'));
libvulkan(join(out, 'lib/libvulkan.so.1'));
xzCached(systemLib('libstdc++.so.6'), join(out, 'fallback/libstdc++.so.6.xz'));
xzCached(systemLib('libgcc_s.so.1'), join(out, 'fallback/libgcc_s.so.1.xz'));
for (const f of ['run.sh', 'ref_torch.py']) copyFileSync(join(ROOT, 'bench/kit', f), join(out, f));
execFileSync('chmod', ['+x', join(out, 'run.sh')]);
writeFileSync(
  join(out, 'README.txt'),
  `wgpool GPU benchmark kit (built ${new Date().toISOString()} with node ${process.version}).\n\n` +
    `  ./run.sh            full run: MiniLM-L6 and bge-base shaped random models, batch 1/8/32 x seq 128/512, matmul GFLOP/s\n` +
    `  ./run.sh --quick    smoke run on a tiny model\n\n` +
    `Prints JSON on stdout. Needs Linux x86-64 with glibc >= 2.28 and a Vulkan GPU driver; see run.sh for options.\n`,
);

let total = 0;
const walk = (d) => readdirSync(d, { withFileTypes: true }).forEach((e) => (e.isDirectory() ? walk(join(d, e.name)) : (total += statSync(join(d, e.name)).size)));
walk(out);
log(`wrote ${out}: ${(total / 2 ** 20).toFixed(1)} MiB`);
if (total > LIMIT) {
  log(`the kit is over ${LIMIT / 2 ** 20} MiB`);
  process.exit(1);
}
