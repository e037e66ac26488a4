// Row reductions (LayerNorm, RMSNorm) come in two schedules over the same WGSL: a workgroup per row
// with a tree reduction in workgroup memory (GPUs), or a thread per row with no barriers (CPU
// implementations such as SwiftShader, where a barrier is a fiber switch and the tree is ~20x slower).

import type { AdapterReport } from '../gpu/device';

export type RowSchedule = 'workgroup' | 'thread';

export function pickRowSchedule(adapter: AdapterReport): RowSchedule {
  return adapter.isSoftware ? 'thread' : 'workgroup';
}

/** Entry point and grid for a row kernel: `main` (workgroup per row) or `main_row` (thread per row). */
export function rowEntry(schedule: RowSchedule): 'main' | 'main_row' {
  return schedule === 'thread' ? 'main_row' : 'main';
}

export function rowGrid(schedule: RowSchedule, rows: number, workgroupSize: number): number[] {
  return schedule === 'thread' ? [Math.ceil(rows / workgroupSize)] : [rows];
}
