// Activation patching (Meng et al. 2022; Wang et al. 2022): run the corrupted prompt with one clean activation
// patched in and measure how much of the clean run's logit difference comes back, (m − m_corrupt) / (m_clean − m_corrupt).
//  - residual stream: `blocks.l.hook_resid_pre` at one position for l < L, and the final stream
//    (`blocks.{L-1}.hook_resid_post`) as row L; the final row at the last position recovers exactly 1.
//  - attention heads: `blocks.l.attn.hook_z` of one head at every position (the head's output before o_proj).
// Every cell is one forward under the model's lock, so generation on the page interleaves with a long sweep.
import type { HookSpec } from '../../engine/hooks';
import type { MethodContext, ModelAccess } from '../kit/context';
import type { PatchingOptions, PatchingProgress, PatchingResult } from './types';

/** Logit of `answer` minus logit of `wrong` in a last-position logits row. */
export const logitDiff = (row: ArrayLike<number>, answer: number, wrong: number): number => row[answer] - row[wrong];

/**
 * The sweep. Each measured cell goes out as progress (stage 'patch', detail a PatchingProgress); once the context's
 * signal is aborted the sweep stops and returns what it measured, with `cancelled: true`.
 */
export async function patchingSweep(m: ModelAccess, ctx: Pick<MethodContext, 'progress' | 'signal'>, o: PatchingOptions): Promise<PatchingResult> {
  const t0 = performance.now();
  const cfg = m.config;
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
  if (!sweepResid && !sweepHeads) throw new Error('nothing to sweep: choose the residual stream, the heads, or both');
  const residNames = [...Array.from({ length: L }, (_, l) => `blocks.${l}.hook_resid_pre`), `blocks.${L - 1}.hook_resid_post`];
  const zNames = Array.from({ length: L }, (_, l) => `blocks.${l}.attn.hook_z`);
  const reads: HookSpec[] = [...(sweepResid ? residNames : []), ...(sweepHeads ? zNames : [])].map((name) => ({ name, op: 'read' }));
  const clean = await m.forward(o.clean, { hooks: reads, logits: 'last' });
  const corrupt = await m.forward(o.corrupt, { logits: 'last' });
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
    if (ctx.signal.aborted) {
      result.cancelled = true;
      break;
    }
    const out = await m.forward(o.corrupt, { hooks: [c.hook], logits: 'last' });
    const value = (logitDiff(out.logits!, o.answer, o.wrong) - metricCorrupt) / denom;
    const grid = result[c.grid]!;
    grid.values[c.row * grid.cols + c.col] = value;
    result.done++;
    const cell: PatchingProgress = { done: result.done, total: result.total, grid: c.grid, row: c.row, col: c.col, value };
    ctx.progress('patch', result.done, result.total, cell);
  }
  // A cancel that arrives after the last cell leaves a complete sweep.
  result.ms = performance.now() - t0;
  return result;
}
