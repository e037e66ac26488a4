#!/usr/bin/env node
// The `wgpool` command. It runs the bundled CLI, because plain Node cannot load the TypeScript
// sources and their `?raw` WGSL imports; build the bundle once with `npm run build:cli`.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const bundle = fileURLToPath(new URL('../dist/cli/cli.mjs', import.meta.url));
if (!existsSync(bundle)) {
  console.error(`wgpool: the CLI bundle ${bundle} is missing. Build it first: npm run build:cli`);
  process.exit(1);
}
const { main } = await import(pathToFileURL(bundle).href);
// Exit explicitly: a GPU device or a hub download can keep the event loop alive after shutdown.
process.exit(await main(process.argv.slice(2)));
