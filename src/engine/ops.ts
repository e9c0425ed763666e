// Typed launches of the WGSL kernels: each function checks its shapes, picks a pipeline and records
// one dispatch on the pass. Models compose these; they never build pipelines themselves.

import { type Pass, uniforms, f32 } from '../gpu/runtime';
import { shaders, type ShaderName } from '../shaders';
import type { Activation } from './config';
import { gatherPacked, linearPacked } from './ops-quant';
import { packedWeightOf } from './packed-weights';

const NEG_INF_BITS = 0xff800000;
const NAN_BITS = 0x7fc00000;

function pipe(pass: Pass, name: ShaderName, entry = 'main', constants: Record<string, number> = {}) {
  return pass.rt.pipeline(name, shaders[name], entry, constants);
}

/** Workgroups for n elements at 64 per group, folded into y past the per-dimension limit. */
export function grid(n: number): [number, number] {
  const groups = Math.ceil(n / 64);
  return groups <= 65535 ? [groups, 1] : [65535, Math.ceil(groups / 65535)];
}

export interface LinearArgs {
  A: GPUBuffer;
  M: number;
  K: number;
  W: GPUBuffer;
  N: number;
  C: GPUBuffer;
  /** Read A from this row on (generation computes logits for the last position only). */
  aRow0?: number;
  bias?: GPUBuffer;
  /** Norm affine applied to A on load: [K] scale, or [2K] scale then shift. */
  affine?: { buf: GPUBuffer; shift: boolean };
  /** Fused residual: R = res + C. */
  residual?: { res: GPUBuffer; R: GPUBuffer };
}

export function linear(pass: Pass, a: LinearArgs): void {
  const packed = packedWeightOf(a.W);
  if (packed) return linearPacked(pass, a, packed);
  if (a.K % 4 !== 0) throw new Error(`linear: inner dimension ${a.K} is not a multiple of 4`);
  // Decode-sized M: spread threads over columns; prefill: 4 rows x 4 columns per thread.
  const small = a.M < 8;
  const [WGX, WGY, TM] = small ? [64, 1, 1] : [16, 4, 4];
  const p = pipe(pass, 'matmul', 'main', {
    WGX,
    WGY,
    TM,
    HAS_BIAS: a.bias ? 1 : 0,
    HAS_SCALE: a.affine ? 1 : 0,
    HAS_SHIFT: a.affine?.shift ? 1 : 0,
    HAS_RES: a.residual ? 1 : 0,
  });
  const u = (slot: number) => pass.rt.unused(slot);
  pass.dispatch(
    p,
    uniforms(a.M, a.N, a.K, a.aRow0 ?? 0),
    [a.A, a.W, a.bias ?? u(3), a.affine?.buf ?? u(4), a.residual?.res ?? u(5), a.C, a.residual?.R ?? u(7)],
    [Math.ceil(a.N / (4 * WGX)), Math.ceil(a.M / (WGY * TM))],
  );
}

/** The naive one-output-per-thread matmul (no bias), kept as the benchmark's baseline. */
export function linearNaive(pass: Pass, a: Pick<LinearArgs, 'A' | 'M' | 'K' | 'W' | 'N' | 'C'>): void {
  const u = (slot: number) => pass.rt.unused(slot);
  pass.dispatch(pipe(pass, 'matmul', 'naive'), uniforms(a.M, a.N, a.K, 0), [a.A, a.W, u(3), u(4), u(5), a.C, u(7)], grid(a.M * a.N));
}

/** Many rows of modest width: a thread per row; otherwise a workgroup per row. */
const normRows = (rows: number, D: number) => rows >= 64 && D <= 1024;

export function normalize(pass: Pass, X: GPUBuffer, Y: GPUBuffer, rows: number, D: number, eps: number, layernorm: boolean): void {
  const perThread = normRows(rows, D);
  pass.dispatch(pipe(pass, 'norm', perThread ? 'rows' : 'main', { LAYERNORM: layernorm ? 1 : 0 }), uniforms(rows, D, f32(eps)), [X, Y], perThread ? grid(rows) : [rows]);
}

export const ACT_CODE: Record<Activation, number> = { silu: 0, gelu_new: 1, gelu: 2, quick_gelu: 3 };

/** post = act(gate) * up from a fused [T, 2I] buffer (gated), or act(pre). */
export function activate(pass: Pass, X: GPUBuffer, Y: GPUBuffer, T: number, I: number, act: Activation, gated: boolean): void {
  pass.dispatch(pipe(pass, 'activation', 'main', { ACT: ACT_CODE[act], GATED: gated ? 1 : 0 }), uniforms(T, I), [X, Y, pass.rt.unused(3)], grid(T * I));
}

export function gather(pass: Pass, ids: GPUBuffer, table: GPUBuffer, out: GPUBuffer, T: number, D: number, rows: number): void {
  const packed = packedWeightOf(table);
  if (packed) return gatherPacked(pass, ids, packed, out, T, D);
  pass.dispatch(pipe(pass, 'embedding'), uniforms(T, D, rows), [ids, table, out], [T]);
}

export function add(pass: Pass, a: GPUBuffer, b: GPUBuffer, out: GPUBuffer, n: number): void {
  pass.dispatch(pipe(pass, 'add'), uniforms(n), [a, b, out], grid(n));
}

export interface EditArgs {
  X: GPUBuffer;
  T: number;
  width: number;
  rowStride: number;
  colOffset: number;
  headDim: number;
  /** Heads in a 'map' layout (0 for 'pos'). */
  mapHeads: number;
  mode: 'replace' | 'add' | 'zero';
  /** 'pos': rows of `width`; 'map': the whole map. */
  value: GPUBuffer;
  /** Rows in `value` ('pos'). */
  valueRows: number;
  coeff: number;
  /** [T] u32: the value row + 1 that each position takes, 0 where it is not edited. */
  posMask: GPUBuffer;
  headMask: GPUBuffer;
}

function editUniforms(e: EditArgs, mode: number) {
  return uniforms(e.T, e.width, e.rowStride, e.colOffset, e.headDim, e.mapHeads, mode, e.valueRows, f32(e.coeff), e.mapHeads ? 1 : 0);
}

export function edit(pass: Pass, e: EditArgs): void {
  const mode = { replace: 0, add: 1, zero: 2 }[e.mode];
  const n = e.mapHeads ? e.mapHeads * e.T * e.width : e.T * e.width;
  pass.dispatch(pipe(pass, 'hookEdit'), editUniforms(e, mode), [e.X, e.value, e.posMask, e.headMask, pass.rt.unused(5)], grid(n));
}

/** dValue += the gradient of edit `e`'s value, reading d loss / d X from `dX` ('pos' layout only). */
export function editValueGrad(pass: Pass, e: EditArgs, dX: GPUBuffer, dValue: GPUBuffer): void {
  pass.dispatch(pipe(pass, 'hookEdit', 'value_grad'), editUniforms(e, 0), [dX, pass.rt.unused(2), e.posMask, e.headMask, dValue], grid(e.valueRows * e.width));
}

/** Write the step's keys and values to cache rows row0.. (or to the rows listed in `rows`, [T] u32). */
export function kvAppend(pass: Pass, qkv: GPUBuffer, k: GPUBuffer, v: GPUBuffer, T: number, width: number, stride: number, kOffset: number, vOffset: number, row0: number, rows?: GPUBuffer): void {
  pass.dispatch(pipe(pass, 'kvCache', 'main', { ROWS: rows ? 1 : 0 }), uniforms(T, width, stride, kOffset, vOffset, row0), [qkv, k, v, rows ?? pass.rt.unused(4)], grid(T * width));
}

export interface AttentionArgs {
  T: number;
  past: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  q: { buf: GPUBuffer; stride: number; offset: number };
  k: { buf: GPUBuffer; stride: number; offset: number };
  v: { buf: GPUBuffer; stride: number; offset: number };
  /** cos/sin table, or null for no rotary (GPT-2). */
  rope: GPUBuffer | null;
  /** [past + T] u32 position id of every key (rotary angle); causality stays by index. */
  posIds: GPUBuffer;
  Z: GPUBuffer;
  /** Scores and pattern outputs [nHeads, T, past+T], when hooks want them. */
  maps?: { S: GPUBuffer; P: GPUBuffer };
  /** [T, 2] u32: the first and last key row of each query (packed or separately cached sequences). */
  ranges?: GPUBuffer;
}

type AttentionStep = 'main' | 'scores' | 'softmax_rows' | 'attend_pattern';

/** Prefill with head_dim ≤ 128 uses the thread-per-row kernel (vec4s of each rotary half); decode and wide heads the workgroup kernel. */
const useRows = (a: AttentionArgs) => a.T >= 4 && a.headDim <= 128 && a.headDim % (a.rope ? 8 : 4) === 0;

/** Fused attention (writing the maps when asked), or one of the three separate steps. */
export function attention(pass: Pass, a: AttentionArgs, step: AttentionStep = 'main'): void {
  if (a.headDim > 256) throw new Error(`attention: head_dim ${a.headDim} > 256 is not supported`);
  if (a.rope && a.headDim % 2) throw new Error(`attention: rotary needs an even head_dim, got ${a.headDim}`);
  if (a.ranges && (a.maps || step !== 'main')) throw new Error('attention scores and patterns are not available when sequences are batched: run the prompt on its own');
  const entry = step === 'main' && useRows(a) ? 'rows' : step;
  const constants = { ROPE: a.rope ? 1 : 0, MAPS: step === 'main' && a.maps ? 1 : 0, RANGES: a.ranges ? 1 : 0, ...(entry === 'rows' ? { D4: a.headDim / 4 } : {}) };
  const u = (slot: number) => pass.rt.unused(slot);
  pass.dispatch(
    pipe(pass, 'attention', entry, constants),
    uniforms(
      a.T, a.past, a.nHeads, a.nHeads / a.nKvHeads, a.headDim,
      a.q.stride, a.q.offset, a.k.stride, a.k.offset, a.v.stride, a.v.offset,
      f32(1 / Math.sqrt(a.headDim)), NEG_INF_BITS,
    ),
    [a.q.buf, a.k.buf, a.v.buf, a.rope ?? u(4), a.Z, a.maps?.S ?? u(6), a.maps?.P ?? u(7), a.posIds, a.ranges ?? u(9)],
    entry === 'rows' ? [Math.ceil((a.T * a.nHeads) / 64)] : [a.T, a.nHeads],
  );
}

/** Threads per vocabulary row (sampling, scoring): 64 up to 4,096 tokens, where SwiftShader's barriers dominate. */
const rowThreads = (V: number) => (V <= 4096 ? 64 : 256);

/** The next token of each of `rows` rows of logits, on the GPU: out[r] holds row r's id's bits; us: one uniform draw per row. */
export function sampleTokens(pass: Pass, logits: GPUBuffer, out: GPUBuffer, V: number, rows: number, o: { greedy: boolean; temperature: number; topK: number; topP: number }, us: GPUBuffer): void {
  pass.dispatch(
    pipe(pass, 'sampling', 'sample', { WG: rowThreads(V) }),
    uniforms(V, rows, o.topK, o.greedy ? 1 : 0, f32(o.temperature), f32(o.topP)),
    [logits, out, us],
    [rows],
  );
}

/** Logit, log-probability and rank of C chosen ids in each of `rows` rows of logits, into out rows row0.. (logprobs.wgsl). */
export function scoreTokens(pass: Pass, logits: GPUBuffer, targets: GPUBuffer, out: GPUBuffer, V: number, C: number, row0: number, rows: number): void {
  pass.dispatch(pipe(pass, 'logprobs', 'score', { WG: rowThreads(V) }), uniforms(V, C, row0, NAN_BITS), [logits, targets, out], [rows]);
}

/** Row-wise log-softmax of [rows, V] logits. */
export function logSoftmax(pass: Pass, logits: GPUBuffer, out: GPUBuffer, rows: number, V: number): void {
  pass.dispatch(pipe(pass, 'sampling', 'logsoftmax'), uniforms(V, rows, 0, 0, f32(1), f32(1)), [logits, out, pass.rt.unused(3)], [rows]);
}
