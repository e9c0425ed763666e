// Vector helpers in float64 for the d × (k + p) bases the Hessian estimator builds from gradient passes (k + p ≤ ~55):
// Gram–Schmidt orthonormalisation and seeded Gaussian matrices, kept on the host because each column arrives from
// its own gradient pass and the random control subspace is made synchronously. Matrices are column lists. The SVD
// runs on the GPU (engine/fit); its float64 reference is tests/reference/fit.ts.
import { Rng } from '../../common/rng';

export type Columns = Float64Array[];

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export function norm(a: ArrayLike<number>): number {
  return Math.sqrt(dot(a, a));
}

/** Standard normal draws from a seeded stream (Box–Muller). */
export function gaussianColumns(rows: number, cols: number, seed: number): Columns {
  const rng = new Rng(seed);
  const g = () => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
  return Array.from({ length: cols }, () => Float64Array.from({ length: rows }, g));
}

/** Orthonormal basis of the columns' span (modified Gram–Schmidt, twice for stability); drops dependent columns. */
export function orthonormalize(cols: Columns, tol = 1e-10): Columns {
  const out: Columns = [];
  for (const c of cols) {
    const v = Float64Array.from(c);
    const n0 = norm(v);
    for (let pass = 0; pass < 2; pass++) {
      for (const q of out) {
        const p = dot(q, v);
        for (let i = 0; i < v.length; i++) v[i] -= p * q[i];
      }
    }
    const n = norm(v);
    if (n <= tol * Math.max(1, n0)) continue;
    for (let i = 0; i < v.length; i++) v[i] /= n;
    out.push(v);
  }
  return out;
}

/** Random orthonormal d×k basis (the control subspace). */
export function randomBasis(d: number, k: number, seed: number): Columns {
  return orthonormalize(gaussianColumns(d, k, seed)).slice(0, k);
}
