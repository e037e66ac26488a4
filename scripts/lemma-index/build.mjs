// Bundle build_index.ts (TypeScript + WGSL ?raw imports) with bench/build.mjs and run it with node on
// Dawn (SwiftShader where there is no GPU). Arguments pass through (--count N, --out FILE).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildBench } from '../../bench/build.mjs';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const env = { ...process.env };
if (!env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
env.WGPOOL_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const bundle = await buildBench('scripts/lemma-index/build_index.ts');
const r = spawnSync(process.execPath, [bundle, ...process.argv.slice(2)], { stdio: 'inherit', env });
process.exit(r.status ?? 1);
