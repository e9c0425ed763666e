// Multinomial logistic regression probes on the GPU (shaders/logreg.wgsl): elastic-net penalised softmax
// cross-entropy on standardised activations, minimised by accelerated proximal gradient with step 1/L.
// L = ½·λ_max(Z̃ᵀZ̃/n)·1.1 + λ₂ (Z̃ = [Z, 1]; ½ bounds the softmax Hessian), λ_max from a randomized SVD;
// momentum (1 − √(λ₂/L))/(1 + √(λ₂/L)) when λ₂ > 0 (linear convergence), FISTA's sequence otherwise.
// Converged when the largest entry of the gradient map (y − prox(y − ∇/L))·L is ≤ tol, checked every
// `checkEvery` iterations (the iterations between checks are one command buffer). Hitting maxIter is an error
// unless allowUnconverged, in which case the fit says so (converged: false).
import { Pass, f32, uniforms, type Runtime } from '../../gpu/runtime';
import { matmulStrided } from '../grad-ops';
import { checkLabels, grid, pipe, standardize, toGpu, type MatrixInput } from './matrix';
import { topSvd } from './pca';

// σ₁ from 4 rounds of subspace iteration on 9 directions is a lower bound; on the worst case, a Gaussian matrix
// with no spectral gap, σ₁² came out at most 7.5 % low (n/d from 1 to 60), so 10 % more keeps the step ≤ 1/L.
const SAFETY = 1.1;

export interface LogisticOptions {
  /** Number of classes (default: largest label + 1); every class needs an example. */
  classes?: number;
  /** λ₂: ridge penalty λ₂/2·‖W‖² on the standardised weights (default 1e-2). */
  l2?: number;
  /** λ₁: lasso penalty λ₁·‖W‖₁ (default 0). */
  l1?: number;
  /** Standardise columns to zero mean and unit variance first (default true); otherwise only centre. */
  standardize?: boolean;
  /** Convergence: max |gradient map| ≤ tol (default 1e-4). */
  tol?: number;
  maxIter?: number;
  checkEvery?: number;
  /** Return a fit that hit maxIter (converged: false) instead of throwing. */
  allowUnconverged?: boolean;
}

export interface LogisticFit {
  classes: number;
  d: number;
  /** z = (x − mean)·scale is what W sees. */
  mean: Float64Array;
  scale: Float64Array;
  /** [d, C] row-major weights on z, and the bias [C]. */
  W: Float32Array;
  b: Float32Array;
  iterations: number;
  converged: boolean;
  /** Largest entry of the gradient map at the last check. */
  gradMap: number;
  /** Mean cross-entropy (without the penalty) at the last check. */
  loss: number;
  /** The Lipschitz bound whose inverse is the step. */
  lipschitz: number;
}

export async function fitLogistic(rt: Runtime, X: MatrixInput, labels: ArrayLike<number>, o: LogisticOptions = {}): Promise<LogisticFit> {
  const l2 = o.l2 ?? 1e-2;
  const l1 = o.l1 ?? 0;
  const tol = o.tol ?? 1e-4;
  const maxIter = o.maxIter ?? 2000;
  const every = o.checkEvery ?? 10;
  if (!(l2 >= 0) || !(l1 >= 0)) throw new Error(`logistic regression: penalties must be ≥ 0 (l2 = ${l2}, l1 = ${l1})`);
  if (!(tol > 0) || !(maxIter >= 1) || !(every >= 1)) throw new Error('logistic regression: tol, maxIter and checkEvery must be positive');
  const x = toGpu(rt, X, 'logistic regression input');
  const n = x.rows;
  const d = x.cols;
  const taken: GPUBuffer[] = [];
  try {
    const C = checkLabels(labels, n, o.classes, 'logistic regression');
    if (C < 2) throw new Error('logistic regression: needs at least 2 classes');
    const st = await standardize(rt, x, 'logistic regression input', o.standardize === false ? 'none' : 'std');
    taken.push(st.Z);
    const sigma = (await topSvd(rt, { buf: st.Z, rows: n, cols: d }, 1, { oversample: 8, powerIters: 4 })).S[0] ?? 0;
    const lipschitz = 0.5 * Math.max((sigma * sigma) / n, 1) * SAFETY + l2;
    const step = 1 / lipschitz;
    const q = l2 / lipschitz;
    const strong = l2 > 0 ? (1 - Math.sqrt(q)) / (1 + Math.sqrt(q)) : null;
    const count = (d + 1) * C;
    const take = (bytes: number) => {
      const b = rt.take(bytes);
      taken.push(b);
      return b;
    };
    const lab = rt.createStatic(Uint32Array.from(labels as ArrayLike<number>), 'labels');
    const L = take(n * (C + 1) * 4);
    const G = take((count + 1) * 4);
    const ty = take(count * 4);
    const tx = take(count * 4);
    const out = take(16);
    rt.write(ty, new Float32Array(count));
    rt.write(tx, new Float32Array(count));
    const binds = [lab, L, G, ty, tx, out];
    let t = 1;
    let it = 0;
    let gradMap = Infinity;
    let loss = NaN;
    try {
      while (it < maxIter) {
        const pass = new Pass(rt);
        const m = Math.min(every, maxIter - it);
        for (let s = 0; s < m; s++) {
          const tNext = (1 + Math.sqrt(1 + 4 * t * t)) / 2;
          const beta = strong ?? (t - 1) / tNext;
          t = tNext;
          const u = uniforms(n, d, C, count, f32(step), f32(l1), f32(l2), f32(beta));
          matmulStrided(pass, n, C, d, { buf: st.Z, rows: d, cols: 1 }, { buf: ty, rows: C, cols: 1 }, { buf: L, rows: C + 1, cols: 1 });
          pass.dispatch(pipe(pass, 'logreg', 'softmax'), u, binds, grid(n));
          matmulStrided(pass, d, C, n, { buf: st.Z, rows: 1, cols: d }, { buf: L, rows: C + 1, cols: 1 }, { buf: G, rows: C, cols: 1 }, 1 / n);
          pass.dispatch(pipe(pass, 'logreg', 'colsum'), u, binds, [Math.ceil((C + 1) / 64)]);
          pass.dispatch(pipe(pass, 'logreg', 'step'), u, binds, [Math.ceil(count / 64)]);
          if (s === m - 1) pass.dispatch(pipe(pass, 'logreg', 'check'), u, binds, [1]);
        }
        it += m;
        const r = pass.read(out, 8);
        await pass.submit();
        [gradMap, loss] = await r;
        if (!Number.isFinite(loss) || !Number.isFinite(gradMap)) {
          throw new Error(`logistic regression diverged at iteration ${it} (loss ${loss}); the data may be badly scaled — keep standardize on`);
        }
        if (gradMap <= tol) break;
      }
      const converged = gradMap <= tol;
      if (!converged && !o.allowUnconverged) {
        throw new Error(`logistic regression did not converge in ${maxIter} iterations (gradient map ${gradMap.toExponential(2)} > tol ${tol}); raise maxIter or the penalty, or pass allowUnconverged`);
      }
      const theta = new Pass(rt);
      const tr = theta.read(tx, count * 4);
      await theta.submit();
      const th = await tr;
      return {
        classes: C, d, mean: st.mean, scale: st.scale,
        W: th.slice(0, d * C), b: th.slice(d * C), iterations: it, converged, gradMap, loss, lipschitz,
      };
    } finally {
      lab.destroy();
    }
  } finally {
    for (const b of taken) rt.release(b);
    if (x.owned) x.buf.destroy();
  }
}

/** Class scores (logits) of one raw activation row. */
export function logisticScores(f: LogisticFit, x: ArrayLike<number>): Float64Array {
  if (x.length !== f.d) throw new Error(`logistic probe: row has ${x.length} entries, the probe ${f.d}`);
  const s = Float64Array.from(f.b);
  for (let j = 0; j < f.d; j++) {
    const z = (x[j] - f.mean[j]) * f.scale[j];
    if (z === 0) continue;
    for (let c = 0; c < f.classes; c++) s[c] += z * f.W[j * f.classes + c];
  }
  return s;
}

/** The most likely class of one raw activation row. */
export function logisticPredict(f: LogisticFit, x: ArrayLike<number>): number {
  const s = logisticScores(f, x);
  let best = 0;
  for (let c = 1; c < s.length; c++) if (s[c] > s[best]) best = c;
  return best;
}
