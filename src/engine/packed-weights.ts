// Weight matrices that are not one plain f32 buffer: f16, quantized (q8/q4), or split by rows because they
// exceed the device's largest storage binding. The model passes such a matrix around as its first
// part's GPUBuffer (so forward.ts and the Weights shape stay as they are); ops.linear and ops.gather
// look the buffer up here and run shaders/matmul-quant.wgsl over every part.

import type { Runtime } from '../gpu/runtime';
import { GROUP, packMatrix, packedBytes, wordsPerRow, type WeightDtype } from './quant';

export interface MatrixPart {
  buf: GPUBuffer;
  /** First row of the full matrix this part holds, and how many. */
  row0: number;
  rows: number;
  /** u32 offset of the group data inside buf. */
  groupOffset: number;
}

export interface PackedWeight {
  dtype: WeightDtype;
  rows: number;
  cols: number;
  groups: number;
  wordsPerRow: number;
  parts: MatrixPart[];
}

const layouts = new WeakMap<GPUBuffer, PackedWeight>();

export function packedWeightOf(buf: GPUBuffer): PackedWeight | undefined {
  return layouts.get(buf);
}

/** Rows per part so that each part's binding stays within `maxBinding` bytes. */
export function rowsPerPart(dtype: WeightDtype, cols: number, maxBinding: number): number {
  const perRow = packedBytes(dtype, 1, cols);
  return Math.max(1, Math.floor(maxBinding / perRow));
}

export interface Uploaded {
  handle: GPUBuffer;
  buffers: GPUBuffer[];
  bytes: number;
}

/**
 * Upload a [rows, cols] matrix as `dtype`, split by rows where it exceeds `maxBinding`. A plain f32
 * matrix that fits one binding is an ordinary buffer the original kernels read.
 */
export function uploadMatrix(rt: Runtime, data: Float32Array, rows: number, cols: number, dtype: WeightDtype, maxBinding: number, label: string): Uploaded {
  const step = rowsPerPart(dtype, cols, maxBinding);
  if (dtype === 'f32' && step >= rows) {
    const buf = rt.createStatic(data, label);
    return { handle: buf, buffers: [buf], bytes: buf.size };
  }
  const parts: MatrixPart[] = [];
  let bytes = 0;
  for (let r0 = 0; r0 < rows; r0 += step) {
    const n = Math.min(step, rows - r0);
    const p = packMatrix(dtype, data.subarray(r0 * cols, (r0 + n) * cols), n, cols, label);
    const buf = rt.createStatic(p.words, parts.length ? `${label}[${parts.length}]` : label);
    parts.push({ buf, row0: r0, rows: n, groupOffset: p.groupOffset });
    bytes += buf.size;
  }
  // Every layout loops over groups of 32 columns; only q8/q4 store per-group data.
  const w: PackedWeight = { dtype, rows, cols, groups: Math.ceil(cols / GROUP), wordsPerRow: wordsPerRow(dtype, cols), parts };
  layouts.set(parts[0].buf, w);
  return { handle: parts[0].buf, buffers: parts.map((p) => p.buf), bytes };
}
