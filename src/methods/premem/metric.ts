// Pre-memorization train accuracy (Kang et al., arXiv 2411.07681): a training example is memorised at a checkpoint when
// log(log(perplexity of its gold solution)) < p; its pre-memorization accuracy at checkpoint t is
//   min( max over t' ≤ t of accuracy(t') · [not memorised at t'],  accuracy(t) ),
// and a checkpoint's value is the mean over training examples, set against the mean test accuracy of that checkpoint.
import { sampleCorrelation } from 'simple-statistics';
import type { Run } from './runs';

/** The authors' thresholds p: −2.3 for GSM8K (Llama 3 8B), −1.7 for MATH. */
export const DEFAULT_THRESHOLD: Record<string, number> = { gsm8k: -2.3, math: -1.7 };

export function defaultThreshold(dataset: string): number {
  const p = DEFAULT_THRESHOLD[dataset];
  if (p === undefined) throw new Error(`no default threshold for dataset "${dataset}" (known: ${Object.keys(DEFAULT_THRESHOLD).join(', ')}); pass one`);
  return p;
}

/** Per checkpoint of a run (in order), per training example: its pre-memorization accuracy at threshold p. */
export function preMemorizationAccuracy(run: Run, p: number): Float64Array[] {
  if (!Number.isFinite(p)) throw new Error(`the memorisation threshold must be a finite number, got ${p}`);
  const n = run.checkpoints[0]?.accuracy.length ?? 0;
  const best = new Float64Array(n);
  return run.checkpoints.map((c) => {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const acc = c.accuracy[i];
      if (!(c.logLogPerplexity[i] < p)) best[i] = Math.max(best[i], acc);
      out[i] = Math.min(best[i], acc);
    }
    return out;
  });
}

export interface Point {
  run: string;
  step: number;
  /** Mean pre-memorization accuracy over the run's training examples. */
  premem: number;
  /** Mean sample accuracy over the same examples. */
  train_accuracy: number;
  test_accuracy: number;
  /** Fraction of the training examples memorised at this checkpoint. */
  memorised: number;
}

const mean = (a: Float64Array) => a.reduce((s, x) => s + x, 0) / a.length;

/** One point per checkpoint of every run. */
export function points(runs: Run[], p: number): Point[] {
  return runs.flatMap((run) => {
    const pm = preMemorizationAccuracy(run, p);
    return run.checkpoints.map((c, t) => ({
      run: run.name,
      step: c.step,
      premem: mean(pm[t]),
      train_accuracy: mean(c.accuracy),
      test_accuracy: c.testAccuracy,
      memorised: c.logLogPerplexity.reduce((s, x) => s + (x < p ? 1 : 0), 0) / c.logLogPerplexity.length,
    }));
  });
}

/** Squared Pearson correlation; null when it is undefined (fewer than 3 points, or a constant variable). */
export function r2(x: number[], y: number[]): number | null {
  if (x.length !== y.length) throw new Error(`r2: ${x.length} x values but ${y.length} y values`);
  if (x.length < 3) return null;
  const r = sampleCorrelation(x, y);
  return Number.isFinite(r) ? r * r : null;
}

/** R² of the prediction y = x (1 − residual / total sum of squares): how well the metric equals test accuracy. */
export function r2Identity(x: number[], y: number[]): number | null {
  if (x.length < 3) return null;
  const my = y.reduce((s, v) => s + v, 0) / y.length;
  const tot = y.reduce((s, v) => s + (v - my) ** 2, 0);
  if (tot === 0) return null;
  return 1 - x.reduce((s, v, i) => s + (y[i] - v) ** 2, 0) / tot;
}

export interface Analysis {
  dataset: string;
  threshold: number;
  n_runs: number;
  n_points: number;
  /** r² of pre-memorization accuracy vs test accuracy (squared Pearson correlation). */
  r2_premem: number | null;
  /** r² of plain train (sample) accuracy vs test accuracy. */
  r2_train_accuracy: number | null;
  /** R² of test accuracy = pre-memorization accuracy (about the line y = x). */
  r2_premem_identity: number | null;
  points: Point[];
}

export function analyze(runs: Run[], dataset: string, p: number): Analysis {
  const pts = points(runs, p);
  const test = pts.map((q) => q.test_accuracy);
  const pm = pts.map((q) => q.premem);
  return {
    dataset,
    threshold: p,
    n_runs: runs.length,
    n_points: pts.length,
    r2_premem: r2(pm, test),
    r2_train_accuracy: r2(pts.map((q) => q.train_accuracy), test),
    r2_premem_identity: r2Identity(pm, test),
    points: pts,
  };
}

export interface SweepRange {
  from: number;
  to: number;
  step: number;
}

/** Thresholds from −6 (perplexity < 1.0025) to 0 (perplexity < e): the range over which memorisation goes from none to most. */
export const DEFAULT_SWEEP: SweepRange = { from: -6, to: 0, step: 0.25 };

export interface SweepRow {
  threshold: number;
  r2_premem: number | null;
  r2_premem_identity: number | null;
  /** Mean fraction of training examples memorised over all points. */
  memorised: number;
}

export function thresholds({ from, to, step }: SweepRange): number[] {
  if (![from, to, step].every(Number.isFinite) || step <= 0 || to < from) throw new Error(`a threshold sweep needs from ≤ to and a step > 0 (got ${from}:${to}:${step})`);
  const n = Math.floor((to - from) / step + 1e-9) + 1;
  if (n > 1000) throw new Error(`a threshold sweep of ${n} values is too long (at most 1000)`);
  return Array.from({ length: n }, (_, i) => Number((from + i * step).toFixed(10)));
}

/** How r² depends on the threshold p (train accuracy does not depend on it). */
export function sweep(runs: Run[], range: SweepRange = DEFAULT_SWEEP): SweepRow[] {
  return thresholds(range).map((p) => {
    const pts = points(runs, p);
    const test = pts.map((q) => q.test_accuracy);
    const pm = pts.map((q) => q.premem);
    return { threshold: p, r2_premem: r2(pm, test), r2_premem_identity: r2Identity(pm, test), memorised: pts.reduce((s, q) => s + q.memorised, 0) / pts.length };
  });
}
