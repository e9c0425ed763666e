// Mean next-token cross-entropy of the float64 reference over the labelled positions (labels < 0 skipped).
import type { HookSpec } from '../../src/engine/hooks';
import { referenceForward, type RefModel } from '../reference/reference';

export function referenceLoss(ref: RefModel, ids: number[], labels: number[], hooks: HookSpec[] = [], positions?: number[]): number {
  const { logits } = referenceForward(ref, ids, hooks, positions);
  const V = ref.config.vocab;
  let sum = 0;
  let n = 0;
  labels.forEach((l, t) => {
    if (l < 0) return;
    const row = logits.subarray(t * V, (t + 1) * V);
    const m = Math.max(...row);
    sum += Math.log(row.reduce((a, x) => a + Math.exp(x - m), 0)) + m - row[l];
    n++;
  });
  return sum / n;
}
