// Baseline: a linear probe (multinomial logistic regression, fitted on the GPU by engine/fit) on the same
// activations the decoder reads, mean-pooled over the stimulus tokens, for questions whose answers are a small
// closed set (yes / no, a class).
import type { Runtime } from '../../gpu/runtime';
import { fitLogistic, logisticPredict, type LogisticFit } from '../../engine/fit';
import type { Activations } from './read';

export function meanPool(a: Activations): Float64Array {
  const D = a.width;
  const k = a.positions.length;
  const out = new Float64Array(D);
  for (let t = 0; t < k; t++) for (let j = 0; j < D; j++) out[j] += a.acts[t * D + j] / k;
  return out;
}

export interface Probe {
  classes: string[];
  fit: LogisticFit;
}

/** L2-regularised softmax regression on standardised features, solved to convergence (engine/fit/logreg.ts). */
export async function fitProbe(rt: Runtime, xs: Float64Array[], ys: string[], opts: { l2?: number } = {}): Promise<Probe> {
  if (!xs.length) throw new Error('no examples to fit a probe on');
  const classes = [...new Set(ys)].sort();
  // Few examples in many dimensions: κ = L/λ₂ can reach 10⁴, so allow the iterations that takes.
  const fit = await fitLogistic(rt, xs, ys.map((c) => classes.indexOf(c)), { l2: opts.l2 ?? 1e-2, maxIter: 20_000 });
  return { classes, fit };
}

export function predictProbe(p: Probe, x: Float64Array): string {
  return p.classes[logisticPredict(p.fit, x)];
}
