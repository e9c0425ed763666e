// Launches of shaders/matmul-quant.wgsl for packed or row-split weights (engine/packed-weights.ts):
// one dispatch per part. ops.linear and ops.gather route here when their weight buffer is registered;
// engine/grad-quant.ts routes the input gradient of such a linear to linearInputGradPacked.

import { type Pass, uniforms } from '../gpu/runtime';
import { shaders } from '../shaders';
import type { LinearArgs } from './ops';
import type { PackedWeight } from './packed-weights';

const QBITS = { f32: 32, f16: 16, q8: 8, q4: 4 } as const;

export function linearPacked(pass: Pass, a: LinearArgs, w: PackedWeight): void {
  if (a.K % 4 !== 0) throw new Error(`linear: inner dimension ${a.K} is not a multiple of 4`);
  if (w.cols !== a.K || w.rows !== a.N) throw new Error(`linear: weight is [${w.rows}, ${w.cols}] but the call wants [${a.N}, ${a.K}]`);
  const small = a.M < 8;
  const [WGX, WGY, TM] = small ? [64, 1, 1] : [16, 4, 4];
  const p = pass.rt.pipeline('matmulQuant', shaders.matmulQuant, 'main', {
    QBITS: QBITS[w.dtype],
    WGX,
    WGY,
    TM,
    HAS_BIAS: a.bias ? 1 : 0,
    HAS_SCALE: a.affine ? 1 : 0,
    HAS_SHIFT: a.affine?.shift ? 1 : 0,
    HAS_RES: a.residual ? 1 : 0,
  });
  const u = (slot: number) => pass.rt.unused(slot);
  for (const part of w.parts) {
    pass.dispatch(
      p,
      uniforms(a.M, part.rows, a.K, a.aRow0 ?? 0, w.groups, w.wordsPerRow, part.groupOffset, part.row0, a.N, 0, 0),
      [a.A, part.buf, a.bias ?? u(3), a.affine?.buf ?? u(4), a.residual?.res ?? u(5), a.C, a.residual?.R ?? u(7)],
      [Math.ceil(part.rows / (4 * WGX)), Math.ceil(a.M / (WGY * TM))],
    );
  }
}

/** out[t, :] = table[ids[t], :] from a packed table; each part writes the rows it holds. */
export function gatherPacked(pass: Pass, ids: GPUBuffer, w: PackedWeight, out: GPUBuffer, T: number, D: number): void {
  if (w.cols !== D) throw new Error(`gather: table rows have ${w.cols} values, ${D} wanted`);
  const p = pass.rt.pipeline('matmulQuant', shaders.matmulQuant, 'gather', { QBITS: QBITS[w.dtype] });
  const u = (slot: number) => pass.rt.unused(slot);
  for (const part of w.parts) {
    pass.dispatch(
      p,
      uniforms(T, part.rows, D, 0, w.groups, w.wordsPerRow, part.groupOffset, 0, D, part.row0, 0),
      [ids, part.buf, u(3), u(4), u(5), out, u(7)],
      [T],
    );
  }
}

/** dA[M, K] (+)= dC[M, N] · W over every part (the first part overwrites unless `accumulate`). */
export function linearInputGradPacked(pass: Pass, M: number, dC: GPUBuffer, w: PackedWeight, dA: GPUBuffer, accumulate: boolean): void {
  if (w.cols % 4 !== 0) throw new Error(`linear backward: inner dimension ${w.cols} is not a multiple of 4`);
  const p = pass.rt.pipeline('matmulQuant', shaders.matmulQuant, 'dx', { QBITS: QBITS[w.dtype] });
  const u = (slot: number) => pass.rt.unused(slot);
  w.parts.forEach((part, i) => {
    pass.dispatch(
      p,
      uniforms(M, part.rows, w.cols, 0, w.groups, w.wordsPerRow, part.groupOffset, part.row0, w.rows, 0, accumulate || i > 0 ? 1 : 0),
      [u(1), part.buf, u(3), u(4), dC, dA, u(7)],
      [Math.ceil(w.cols / 4 / 64), Math.ceil(M / 4)],
    );
  });
}
