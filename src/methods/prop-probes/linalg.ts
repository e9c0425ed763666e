// Small dense linear algebra in float64, written here because the sizes are small (d_model ≤ ~1k, rank ≤ 50):
// one-sided Jacobi SVD, Gram–Schmidt orthonormalisation, seeded Gaussian matrices. Matrices are column lists.
import { Rng } from '../../toyworld/rng';

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

export interface Svd {
  /** Left singular vectors (columns, each of length m). */
  U: Columns;
  S: number[];
  /** Right singular vectors (columns, each of length n). */
  V: Columns;
}

/**
 * SVD of the m×n matrix whose columns are `cols` (n columns of length m), by one-sided Jacobi: rotate column
 * pairs until all are orthogonal; then A V = U S. Sorted by descending S; zero columns are dropped.
 */
export function svdColumns(cols: Columns, maxSweeps = 60, tol = 1e-12): Svd {
  const n = cols.length;
  const A = cols.map((c) => Float64Array.from(c));
  const V: Columns = Array.from({ length: n }, (_, j) => {
    const e = new Float64Array(n);
    e[j] = 1;
    return e;
  });
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const ap = A[p];
        const aq = A[q];
        const alpha = dot(ap, ap);
        const beta = dot(aq, aq);
        const gamma = dot(ap, aq);
        if (Math.abs(gamma) <= tol * Math.sqrt(alpha * beta) || gamma === 0) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (let i = 0; i < ap.length; i++) {
          const x = ap[i];
          const y = aq[i];
          ap[i] = c * x - s * y;
          aq[i] = s * x + c * y;
        }
        const vp = V[p];
        const vq = V[q];
        for (let i = 0; i < n; i++) {
          const x = vp[i];
          const y = vq[i];
          vp[i] = c * x - s * y;
          vq[i] = s * x + c * y;
        }
      }
    }
    if (!rotated) break;
  }
  const order = A.map((a, j) => ({ j, s: norm(a) })).sort((x, y) => y.s - x.s);
  const top = order[0]?.s ?? 0;
  const U: Columns = [];
  const S: number[] = [];
  const Vs: Columns = [];
  for (const { j, s } of order) {
    if (s <= 1e-14 * Math.max(top, 1e-300)) continue;
    U.push(A[j].map((x) => x / s));
    S.push(s);
    Vs.push(V[j]);
  }
  return { U, S, V: Vs };
}

/** SVD of an m×n matrix given by columns, choosing the cheaper side (Jacobi over min(m, n) columns). */
export function svd(cols: Columns): Svd {
  const n = cols.length;
  const m = cols[0]?.length ?? 0;
  if (n <= m) return svdColumns(cols);
  const rows: Columns = Array.from({ length: m }, (_, i) => Float64Array.from(cols, (c) => c[i]));
  const t = svdColumns(rows); // Aᵀ = U' S V'ᵀ  →  A = V' S U'ᵀ
  return { U: t.V, S: t.S, V: t.U };
}

/** Random orthonormal d×k basis (the control subspace). */
export function randomBasis(d: number, k: number, seed: number): Columns {
  return orthonormalize(gaussianColumns(d, k, seed)).slice(0, k);
}
