// Typed launches of the backward kernels (and the strided matmul they share with LoRA), the
// counterpart of ops.ts. Each function records one dispatch.

import { type Pass, uniforms, f32 } from '../gpu/runtime';
import { shaders, type ShaderName } from '../shaders';
import type { Activation } from './config';
import { ACT_CODE, grid } from './ops';
import { dropoutThreshold } from './lora';

function pipe(pass: Pass, name: ShaderName, entry = 'main', constants: Record<string, number> = {}) {
  return pass.rt.pipeline(name, shaders[name], entry, constants);
}

/** A matrix inside a buffer: element (r, c) at offset + r * rows + c * cols (strides in floats). */
export interface Strided {
  buf: GPUBuffer;
  offset?: number;
  rows: number;
  cols: number;
}

/** C = beta·C + alpha·A·B with A [M, K], B [K, N], C [M, N], each strided. */
export function matmulStrided(pass: Pass, M: number, N: number, K: number, A: Strided, B: Strided, C: Strided, alpha = 1, beta = 0): void {
  pass.dispatch(
    pipe(pass, 'matmulStrided'),
    uniforms(M, N, K, A.offset ?? 0, A.rows, A.cols, B.offset ?? 0, B.rows, B.cols, C.offset ?? 0, C.rows, C.cols, f32(alpha), f32(beta)),
    [A.buf, B.buf, C.buf],
    [Math.ceil(N / 32), Math.ceil(M / 32)],
  );
}

/**
 * dA[M, K] = beta·dA + dC[M, N] · W[N, K], all dense row-major: matmul.wgsl's vec4 `wt` kernel (4 rows x 4
 * columns per thread) when N and K are multiples of 4, else the strided matmul.
 */
export function matmulWt(pass: Pass, M: number, K: number, N: number, dC: GPUBuffer, W: GPUBuffer, dA: GPUBuffer, beta: 0 | 1): void {
  if (N % 4 !== 0 || K % 4 !== 0) {
    return matmulStrided(pass, M, K, N, { buf: dC, rows: N, cols: 1 }, { buf: W, rows: K, cols: 1 }, { buf: dA, rows: K, cols: 1 }, 1, beta);
  }
  const u = (slot: number) => pass.rt.unused(slot);
  pass.dispatch(
    pipe(pass, 'matmul', 'wt', { WGX: 16, WGY: 4, TM: 4, ACCUM: beta }),
    uniforms(M, K, N, 0),
    [dC, W, u(3), u(4), u(5), dA, u(7)],
    [Math.ceil(K / 64), Math.ceil(M / 16)],
  );
}

/** dX += the norm's backward for dN (the gradient at the normalised activation). */
export function normBackward(pass: Pass, X: GPUBuffer, dN: GPUBuffer, dX: GPUBuffer, rows: number, D: number, eps: number, layernorm: boolean): void {
  pass.dispatch(
    pipe(pass, 'normBackward', 'main', { LAYERNORM: layernorm ? 1 : 0 }),
    uniforms(rows, D, f32(eps), 0, 0),
    [X, dN, pass.rt.unused(3), dX, pass.rt.unused(5)],
    [Math.ceil(rows / 64)],
  );
}

/** Through the prologue affine a = n·g (+b): dN += dA·g; dG (+dB) += Σ_t when the norm is trained. */
export function affineBackward(pass: Pass, n: GPUBuffer, dA: GPUBuffer, g: GPUBuffer, shift: boolean, dN: GPUBuffer, dG: GPUBuffer | null, rows: number, D: number): void {
  pass.dispatch(
    pipe(pass, 'normBackward', 'affine'),
    uniforms(rows, D, f32(0), shift ? 1 : 0, dG ? 1 : 0),
    [n, dA, g, dN, dG ?? pass.rt.unused(5)],
    [Math.ceil(D / 64)],
  );
}

/** out = n·g (+b): the matmul's actual input, for the weight gradient. */
export function applyAffine(pass: Pass, n: GPUBuffer, g: GPUBuffer, shift: boolean, out: GPUBuffer, rows: number, D: number): void {
  pass.dispatch(pipe(pass, 'normBackward', 'apply'), uniforms(rows, D, f32(0), shift ? 1 : 0, 0), [n, pass.rt.unused(2), g, out, pass.rt.unused(5)], grid(rows * D));
}

/** dX = activation backward (written, not accumulated: the input feeds only the activation). */
export function activationBackward(pass: Pass, X: GPUBuffer, dY: GPUBuffer, dX: GPUBuffer, T: number, I: number, act: Activation, gated: boolean): void {
  pass.dispatch(pipe(pass, 'activation', 'backward', { ACT: ACT_CODE[act], GATED: gated ? 1 : 0 }), uniforms(T, I), [X, dX, dY], grid(T * I));
}

/** Y = mask ⊙ X (inverted dropout, the mask drawn from `seed`), or with `accumulate` Y += mask ⊙ X (its backward). */
export function dropout(pass: Pass, X: GPUBuffer, Y: GPUBuffer, n: number, p: number, seed: number, accumulate = false): void {
  pass.dispatch(pipe(pass, 'dropout', accumulate ? 'accumulate' : 'main'), uniforms(n, seed, dropoutThreshold(p), f32(1 / (1 - p))), [X, Y], grid(n));
}

export interface LoraBackwardArgs {
  M: number;
  K: number;
  width: number;
  rank: number;
  /** dC's row stride and the module's first column in it. */
  N: number;
  offset: number;
  scale: number;
}

/** dH = s·dC_m·B (written); dB += s·dC_mᵀ·H when B is trained. */
export function loraBranchBackward(pass: Pass, a: LoraBackwardArgs, dC: GPUBuffer, B: GPUBuffer, H: GPUBuffer, dH: GPUBuffer, dB: GPUBuffer | null): void {
  const u = uniforms(a.M, a.K, a.width, a.rank, a.N, a.offset, dB ? 1 : 0, 0, f32(a.scale), 0);
  const n = a.M * a.rank + (dB ? a.width * a.rank : 0);
  pass.dispatch(pipe(pass, 'loraBackward', 'branch'), u, [dC, B, H, dH, dB ?? pass.rt.unused(5), pass.rt.unused(6)], grid(n));
}

/**
 * dX (+)= dH·A (accumulated unless `overwriteX`); dA += dHᵀ·x when A is trained, x being the module's input or,
 * given `affine`, the norm output that the matmul's prologue affine turns into it.
 */
export function loraInputBackward(pass: Pass, a: LoraBackwardArgs, dH: GPUBuffer, A: GPUBuffer, x: GPUBuffer, dX: GPUBuffer, dA: GPUBuffer | null, overwriteX = false, affine: { buf: GPUBuffer; shift: boolean } | null = null): void {
  const u = uniforms(a.M, a.K, a.width, a.rank, a.N, a.offset, dA ? 1 : 0, overwriteX ? 0 : 1, f32(a.scale), affine ? (affine.shift ? 2 : 1) : 0);
  const n = a.M * a.K + (dA ? a.rank * a.K : 0);
  pass.dispatch(pipe(pass, 'loraBackward', 'input'), u, [dH, A, x, dX, dA ?? pass.rt.unused(5), affine?.buf ?? pass.rt.unused(6)], grid(n));
}

/** dTable += the embedding gather's backward: each row of dOut added to the table row its id read. */
export function embeddingBackward(pass: Pass, ids: ArrayLike<number>, dOut: GPUBuffer, dTable: GPUBuffer, D: number): void {
  const T = ids.length;
  const order = Array.from({ length: T }, (_, t) => t).sort((a, b) => ids[a] - ids[b] || a - b);
  const starts: number[] = [];
  const rows: number[] = [];
  order.forEach((t, k) => {
    if (k === 0 || ids[t] !== ids[order[k - 1]]) (starts.push(k), rows.push(ids[t]));
  });
  starts.push(T);
  const G = rows.length;
  const index = Uint32Array.from([...starts, ...order, ...rows]);
  const buf = pass.scratchBuffer(index.byteLength);
  pass.rt.write(buf, index);
  pass.dispatch(pipe(pass, 'embeddingBackward'), uniforms(D, G, T), [buf, dOut, dTable], G <= 65535 ? [G, 1] : [65535, Math.ceil(G / 65535)]);
}

/** dB[N] += Σ_m dC[m, :]: a bias's gradient, as ones[1, M] · dC[M, N]. */
export function biasBackward(pass: Pass, dC: GPUBuffer, dB: GPUBuffer, M: number, N: number): void {
  const ones = pass.scratchBuffer(M * 4);
  pass.rt.write(ones, new Float32Array(M).fill(1));
  matmulStrided(pass, 1, N, M, { buf: ones, rows: M, cols: 1 }, { buf: dC, rows: N, cols: 1 }, { buf: dB, rows: N, cols: 1 }, 1, 1);
}

/** out += a. */
export function accumulate(pass: Pass, a: GPUBuffer, out: GPUBuffer, n: number): void {
  pass.dispatch(pipe(pass, 'add', 'acc'), uniforms(n), [a, pass.rt.unused(2), out], grid(n));
}

export interface AttentionBackwardArgs {
  T: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  qkv: GPUBuffer;
  stride: number;
  kOffset: number;
  vOffset: number;
  rope: GPUBuffer | null;
  posIds: GPUBuffer;
  dZ: GPUBuffer;
  /** Written: the q, k and v columns of the fused gradient. */
  dQKV: GPUBuffer;
}

export function attentionBackward(pass: Pass, a: AttentionBackwardArgs): void {
  if (a.headDim > 128 || a.headDim % 4) throw new Error(`attention backward needs head_dim ≤ 128 and a multiple of 4, got ${a.headDim}`);
  const P = pass.scratchBuffer(a.nHeads * a.T * a.T * 4);
  const dS = pass.scratchBuffer(a.nHeads * a.T * a.T * 4);
  const u = uniforms(a.T, a.nHeads, a.nHeads / a.nKvHeads, a.headDim, a.stride, a.kOffset, a.vOffset, f32(1 / Math.sqrt(a.headDim)));
  const bind = [a.qkv, a.rope ?? pass.rt.unused(2), a.dZ, P, dS, a.dQKV, a.posIds];
  const c = { ROPE: a.rope ? 1 : 0, D4: a.headDim / 4 };
  pass.dispatch(pipe(pass, 'attentionBackward', 'query_rows', c), u, bind, [Math.ceil((a.T * a.nHeads) / 64)]);
  pass.dispatch(pipe(pass, 'attentionBackward', 'key_rows', c), u, bind, [Math.ceil((a.T * a.nKvHeads) / 64)]);
}

/** Per-row cross-entropy (labels < 0 are skipped) and d(mean loss)/d(logits). */
export function crossEntropy(pass: Pass, logits: GPUBuffer, labels: GPUBuffer, loss: GPUBuffer, dLogits: GPUBuffer, T: number, V: number, counted: number): void {
  pass.dispatch(pipe(pass, 'crossEntropy'), uniforms(T, V, f32(counted ? 1 / counted : 0)), [logits, labels, loss, dLogits], [T]);
}

export interface OptimizerArgs {
  /** Flat buffers: every trained tensor's values, gradients and moments, `n` floats each. */
  param: GPUBuffer;
  grad: GPUBuffer;
  m1: GPUBuffer;
  m2: GPUBuffer;
  /** [slots + 2]: sumsq's partial sums, then the gradient factor and the global norm. */
  norms: GPUBuffer;
  n: number;
  slots: number;
  step: number;
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  maxNorm: number;
  gradScale: number;
}

function optimizerUniforms(o: OptimizerArgs) {
  return uniforms(o.n, o.slots, o.step, f32(o.lr), f32(o.beta1), f32(o.beta2), f32(o.eps), f32(o.weightDecay), f32(o.maxNorm), f32(o.gradScale));
}

export function optimizerStep(pass: Pass, entry: 'sumsq' | 'clip' | 'adamw' | 'sgd', o: OptimizerArgs): void {
  const groups: [number, number?] = entry === 'sumsq' ? [o.slots] : entry === 'clip' ? [1] : grid(o.n);
  pass.dispatch(pipe(pass, 'optimizer', entry), optimizerUniforms(o), [o.param, o.grad, o.m1, o.m2, o.norms], groups);
}
