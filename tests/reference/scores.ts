// CPU reference for token scores (logprobs.wgsl) and batches: each sequence of a batch is its own float64
// forward, so a batched engine result is checked against sequences run one at a time.
import { referenceForward, type RefModel } from './reference';

export interface RefScore {
  logit: number;
  logprob: number;
  /** Tokens whose logit exceeds this one's by more than `tol` and by more than -`tol`: the f32 rank lies between. */
  rankLow: number;
  rankHigh: number;
}

/** Scores of `targets` in the logits after tokens 0..position of `ids`. */
export function referenceScores(model: RefModel, ids: number[], position: number, targets: number[], tol = 1e-4): RefScore[] {
  const V = model.config.vocab;
  const row = referenceForward(model, ids.slice(0, position + 1)).logits.subarray(position * V, (position + 1) * V);
  const m = Math.max(...row);
  const logZ = m + Math.log(row.reduce((a, x) => a + Math.exp(x - m), 0));
  return targets.map((id) => {
    const x = row[id];
    return { logit: x, logprob: x - logZ, rankLow: row.filter((y) => y > x + tol).length, rankHigh: row.filter((y) => y > x - tol).length };
  });
}
