// One GPU context per test file (Dawn in Node, SwiftShader without a GPU).
import { afterAll } from 'vitest';
import { Gpu } from '../../src/gpu/context';

let shared: Promise<Gpu> | undefined;

export function testGpu(): Promise<Gpu> {
  if (!shared) {
    shared = Gpu.create();
    afterAll(async () => (await shared!).destroy());
  }
  return shared;
}
