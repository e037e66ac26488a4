// Prints the features of the WebGPU adapter Dawn finds with the current VK_ICD_FILENAMES, one per
// line, and exits 0; exits 1 (printing why to stderr) when there is no adapter. scripts/test.sh uses
// it to decide whether the lavapipe suites (shader-f16, subgroups) can run on this machine.
import { create, globals } from 'webgpu';

Object.assign(globalThis, globals);
const adapter = await create([]).requestAdapter();
if (!adapter) {
  console.error(`no WebGPU adapter with VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES ?? '(unset)'}`);
  process.exit(1);
}
console.log(`${adapter.info.vendor} ${adapter.info.architecture} ${adapter.info.description}`.trim());
for (const f of [...adapter.features].sort()) console.log(f);
// Dawn keeps its instance alive; leave without waiting for it.
process.exit(0);
