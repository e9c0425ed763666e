// Baseline: a linear probe (multinomial logistic regression) on the same activations the decoder reads, mean-pooled
// over the stimulus tokens, for questions whose answers are a small closed set (yes / no, a class).
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
  mean: Float64Array;
  scale: Float64Array;
  /** [classes × (D + 1)], the last column the bias. */
  W: Float64Array[];
}

/** Full-batch gradient descent on the L2-regularised softmax cross-entropy of standardised features. */
export function fitProbe(xs: Float64Array[], ys: string[], opts: { l2?: number; iters?: number; lr?: number } = {}): Probe {
  if (!xs.length) throw new Error('no examples to fit a probe on');
  const D = xs[0].length;
  const classes = [...new Set(ys)].sort();
  const mean = new Float64Array(D);
  const scale = new Float64Array(D);
  for (const x of xs) for (let j = 0; j < D; j++) mean[j] += x[j] / xs.length;
  for (const x of xs) for (let j = 0; j < D; j++) scale[j] += (x[j] - mean[j]) ** 2 / xs.length;
  for (let j = 0; j < D; j++) scale[j] = 1 / Math.sqrt(scale[j] + 1e-8);
  const Z = xs.map((x) => Float64Array.from(x, (v, j) => (v - mean[j]) * scale[j]));
  const W = classes.map(() => new Float64Array(D + 1));
  const y = ys.map((c) => classes.indexOf(c));
  const l2 = opts.l2 ?? 1e-2;
  const lr = opts.lr ?? 0.5;
  for (let it = 0; it < (opts.iters ?? 300); it++) {
    const G = classes.map(() => new Float64Array(D + 1));
    for (const [i, z] of Z.entries()) {
      const p = softmax(W.map((w) => score(w, z)));
      p.forEach((pc, c) => {
        const g = (pc - (c === y[i] ? 1 : 0)) / Z.length;
        for (let j = 0; j < D; j++) G[c][j] += g * z[j];
        G[c][D] += g;
      });
    }
    W.forEach((w, c) => {
      for (let j = 0; j <= D; j++) w[j] -= lr * (G[c][j] + (j < D ? l2 * w[j] : 0));
    });
  }
  return { classes, mean, scale, W };
}

function score(w: Float64Array, z: Float64Array): number {
  let s = w[z.length];
  for (let j = 0; j < z.length; j++) s += w[j] * z[j];
  return s;
}

function softmax(s: number[]): number[] {
  const m = Math.max(...s);
  const e = s.map((v) => Math.exp(v - m));
  const t = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / t);
}

export function predictProbe(p: Probe, x: Float64Array): string {
  const z = Float64Array.from(x, (v, j) => (v - p.mean[j]) * p.scale[j]);
  const s = p.W.map((w) => score(w, z));
  return p.classes[s.indexOf(Math.max(...s))];
}
