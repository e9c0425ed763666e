// The Explore page's analyses, run in the worker on top of plain forwards: logit lens, activation patching
// sweeps and steering vectors. Each takes a `forward` that runs one hooked forward on the loaded model (the
// engine API passes one that takes the model's lock per call, so a long sweep does not starve generation).

import type { HookSpec } from '../engine/hooks';
import type { ModelConfig } from '../engine/config';
import type {
  LogitLensResult,
  PatchingOptions,
  PatchingProgress,
  PatchingResult,
  SteeringVectorOptions,
  TopToken,
} from './api';
import { topK } from './topk';

export type Forward = (
  ids: number[],
  opts: { hooks?: HookSpec[]; logits: 'all' | 'last' | 'none' },
) => Promise<{ logits: Float32Array | null; cache: Record<string, Float32Array> }>;

/** Display text of token `id` continuing the input after position `pos`. */
export type Piece = (pos: number, id: number) => string;

/**
 * Logit lens: the residual stream after each layer (and the embedding, before layer 0) read out through the
 * model's own final norm and unembedding. Done by replacing the last block's `hook_resid_post` with the
 * stream read at an earlier point: the final norm and lm_head then apply to it exactly as they do to the real
 * final stream (no CPU copy of the norm or the unembedding). One forward reads every stream and gives the last
 * row; one more per earlier row.
 */
export async function logitLens(cfg: ModelConfig, forward: Forward, ids: number[], k: number, piece: Piece): Promise<LogitLensResult> {
  const t0 = performance.now();
  const L = cfg.nLayers;
  const T = ids.length;
  const V = cfg.vocab;
  const streams = ['blocks.0.hook_resid_pre', ...Array.from({ length: L }, (_, i) => `blocks.${i}.hook_resid_post`)];
  const rows = ['embed', ...Array.from({ length: L }, (_, i) => `layer ${i}`)];
  const base = await forward(ids, { hooks: streams.slice(0, -1).map((name) => ({ name, op: 'read' })), logits: 'all' });
  const last = streams[streams.length - 1];
  const rank = (logits: Float32Array): TopToken[][] =>
    Array.from({ length: T }, (_, p) => topK(logits.subarray(p * V, (p + 1) * V), k).map((r) => ({ ...r, text: piece(p, r.id) })));
  // The model's own prediction at each position (the last row's top token), for the per-layer probability.
  const predicted = Array.from({ length: T }, (_, p) => topK(base.logits!.subarray(p * V, (p + 1) * V), 1)[0].id);
  const probOf = (logits: Float32Array): number[] => predicted.map((id, p) => softmaxAt(logits.subarray(p * V, (p + 1) * V), id));
  const top: TopToken[][][] = [];
  const final: number[][] = [];
  for (let r = 0; r < streams.length - 1; r++) {
    const out = await forward(ids, { hooks: [{ name: last, op: 'replace', value: base.cache[streams[r]] }], logits: 'all' });
    top.push(rank(out.logits!));
    final.push(probOf(out.logits!));
  }
  top.push(rank(base.logits!));
  final.push(probOf(base.logits!));
  return { rows, positions: T, k, top, final, ms: performance.now() - t0 };
}

function softmaxAt(row: ArrayLike<number>, id: number): number {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i] > max) max = row[i];
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i] - max);
  return Math.exp(row[id] - max) / sum;
}

/** Logit of `answer` minus logit of `wrong` in a last-position logits row. */
export const logitDiff = (row: ArrayLike<number>, answer: number, wrong: number): number => row[answer] - row[wrong];

export class Cancelled extends Error {
  constructor() {
    super('cancelled');
  }
}

/**
 * Activation patching: run the corrupted prompt with one clean activation patched in and measure how much
 * of the clean run's logit difference comes back, (m − m_corrupt) / (m_clean − m_corrupt).
 *  - residual stream: `blocks.l.hook_resid_pre` at one position for l < L, and the final stream
 *    (`blocks.{L-1}.hook_resid_post`) as row L; the final row at the last position recovers exactly 1.
 *  - attention heads: `blocks.l.attn.hook_z` of one head at every position (the head's output before o_proj).
 * `onProgress` sees every cell as it is measured; returning false stops the sweep (the result keeps what was done).
 */
export async function patchingSweep(
  cfg: ModelConfig,
  forward: Forward,
  o: PatchingOptions,
  onProgress?: (p: PatchingProgress) => unknown,
): Promise<PatchingResult> {
  const t0 = performance.now();
  const T = o.clean.length;
  if (T === 0) throw new Error('the clean prompt has no tokens');
  if (o.corrupt.length !== T) {
    throw new Error(`the clean prompt has ${T} tokens and the corrupted one ${o.corrupt.length}: patching needs the same number of tokens`);
  }
  for (const [what, id] of [['answer', o.answer], ['wrong answer', o.wrong]] as const) {
    if (!Number.isInteger(id) || id < 0 || id >= cfg.vocab) throw new Error(`the ${what} token ${id} is outside the vocabulary (0..${cfg.vocab - 1})`);
  }
  if (o.answer === o.wrong) throw new Error('the answer and the wrong answer are the same token: their logit difference is always 0');
  const L = cfg.nLayers;
  const H = cfg.nHeads;
  const sweepResid = o.resid ?? true;
  const sweepHeads = o.heads ?? true;
  const residNames = [...Array.from({ length: L }, (_, l) => `blocks.${l}.hook_resid_pre`), `blocks.${L - 1}.hook_resid_post`];
  const zNames = Array.from({ length: L }, (_, l) => `blocks.${l}.attn.hook_z`);
  const reads: HookSpec[] = [...(sweepResid ? residNames : []), ...(sweepHeads ? zNames : [])].map((name) => ({ name, op: 'read' }));
  const clean = await forward(o.clean, { hooks: reads, logits: 'last' });
  const corrupt = await forward(o.corrupt, { logits: 'last' });
  const metricClean = logitDiff(clean.logits!, o.answer, o.wrong);
  const metricCorrupt = logitDiff(corrupt.logits!, o.answer, o.wrong);
  const denom = metricClean - metricCorrupt;
  if (!(Math.abs(denom) > 1e-6)) {
    throw new Error(`the clean and corrupted prompts give the same logit difference (${metricClean.toFixed(4)}): nothing to recover; pick prompts or answers that differ`);
  }
  const result: PatchingResult = {
    metricClean,
    metricCorrupt,
    resid: sweepResid ? { rows: residNames.length, cols: T, rowLabels: [...Array.from({ length: L }, (_, l) => `resid_pre ${l}`), 'final'], values: new Float32Array(residNames.length * T).fill(NaN) } : null,
    heads: sweepHeads ? { rows: L, cols: H, rowLabels: Array.from({ length: L }, (_, l) => `layer ${l}`), values: new Float32Array(L * H).fill(NaN) } : null,
    done: 0,
    total: (sweepResid ? residNames.length * T : 0) + (sweepHeads ? L * H : 0),
    cancelled: false,
    ms: 0,
  };
  const cells: { grid: 'resid' | 'heads'; row: number; col: number; hook: HookSpec }[] = [];
  if (sweepResid) {
    residNames.forEach((name, row) => {
      for (let p = 0; p < T; p++) cells.push({ grid: 'resid', row, col: p, hook: { name, op: 'replace', value: clean.cache[name], positions: [p] } });
    });
  }
  if (sweepHeads) {
    zNames.forEach((name, row) => {
      for (let h = 0; h < H; h++) cells.push({ grid: 'heads', row, col: h, hook: { name, op: 'replace', value: clean.cache[name], heads: [h] } });
    });
  }
  for (const c of cells) {
    const out = await forward(o.corrupt, { hooks: [c.hook], logits: 'last' });
    const value = (logitDiff(out.logits!, o.answer, o.wrong) - metricCorrupt) / denom;
    const grid = result[c.grid]!;
    grid.values[c.row * grid.cols + c.col] = value;
    result.done++;
    const go = await onProgress?.({ done: result.done, total: result.total, grid: c.grid, row: c.row, col: c.col, value });
    if (go === false) {
      result.cancelled = true;
      break;
    }
  }
  result.ms = performance.now() - t0;
  return result;
}

/**
 * A steering vector: mean activation at `hook` over the positive prompts minus that over the negative ones,
 * each prompt first averaged over its positions (so long prompts do not outweigh short ones).
 */
export async function steeringVector(cfg: ModelConfig, forward: Forward, o: SteeringVectorOptions): Promise<Float32Array> {
  if (!/^blocks\.\d+\.hook_resid_(pre|mid|post)$/.test(o.hook)) throw new Error(`steering vectors are taken from a residual stream hook, not "${o.hook}"`);
  if (!o.positive.length || !o.negative.length) throw new Error('need at least one prompt in each set');
  const D = cfg.hidden;
  const mean = async (set: number[][]): Promise<Float64Array> => {
    const acc = new Float64Array(D);
    for (const ids of set) {
      if (!ids.length) throw new Error('a prompt in the sets has no tokens');
      const a = (await forward(ids, { hooks: [{ name: o.hook, op: 'read' }], logits: 'none' })).cache[o.hook];
      for (let p = 0; p < ids.length; p++) for (let j = 0; j < D; j++) acc[j] += a[p * D + j] / ids.length / set.length;
    }
    return acc;
  };
  const pos = await mean(o.positive);
  const neg = await mean(o.negative);
  return Float32Array.from(pos, (v, j) => v - neg[j]);
}
