// Float64 CPU reference of the GPU Monte Carlo (same draws, same statistics). Tests use it to check the WGSL kernels
// at tight tolerance; it is also the page's fallback without WebGPU (small P only: O(seeds·(N P² + P³))).
// explicitSplitLosses is the brute-force version for one concrete label split, used to test the averaging algebra.

import { combine, validateMcRequest, type McEstimate, type McRequest, type SeedStats } from './mc-request';
import { exactSpectrum } from './model';
import { gaussian } from './prng';

export function sampleDesign(seed: number, s: number, N: number, P: number, lam: Float64Array): Float64Array {
  const X = new Float64Array(N * P);
  for (let k = 0; k < N; k++) for (let i = 0; i < P; i++) X[k * P + i] = Math.sqrt(lam[i]) * gaussian(seed, s, k, i);
  return X;
}

/** Gram matrix of the rows selected by `rows` (all rows when omitted). */
export function gram(X: Float64Array, N: number, P: number, rows?: (k: number) => boolean): Float64Array {
  const G = new Float64Array(P * P);
  for (let k = 0; k < N; k++) {
    if (rows && !rows(k)) continue;
    for (let a = 0; a < P; a++) {
      const xa = X[k * P + a];
      for (let b = 0; b < P; b++) G[a * P + b] += xa * X[k * P + b];
    }
  }
  return G;
}

/** In-place Cholesky (lower triangle of A becomes L). */
export function cholesky(A: Float64Array, P: number): void {
  for (let j = 0; j < P; j++) {
    let d = A[j * P + j];
    for (let k = 0; k < j; k++) d -= A[j * P + k] ** 2;
    if (!(d > 0)) throw new Error('market-entry CPU Monte Carlo: matrix not positive definite');
    const r = Math.sqrt(d);
    A[j * P + j] = r;
    for (let i = j + 1; i < P; i++) {
      let v = A[i * P + j];
      for (let k = 0; k < j; k++) v -= A[i * P + k] * A[j * P + k];
      A[i * P + j] = v / r;
    }
  }
}

/** Solve LLᵀ y = b in place. */
export function cholSolve(L: Float64Array, P: number, y: Float64Array): void {
  for (let i = 0; i < P; i++) {
    let acc = y[i];
    for (let k = 0; k < i; k++) acc -= L[i * P + k] * y[k];
    y[i] = acc / L[i * P + i];
  }
  for (let i = P - 1; i >= 0; i--) {
    let acc = y[i];
    for (let k = i + 1; k < P; k++) acc -= L[k * P + i] * y[k];
    y[i] = acc / L[i * P + i];
  }
}

/** W = (XᵀX + NλI)⁻¹ from a precomputed Gram matrix. */
export function ridgeInverse(G: Float64Array, N: number, P: number, lambda: number): Float64Array {
  const A = G.slice();
  for (let i = 0; i < P; i++) A[i * P + i] += N * lambda;
  cholesky(A, P);
  const W = new Float64Array(P * P);
  const col = new Float64Array(P);
  for (let b = 0; b < P; b++) {
    col.fill(0);
    col[b] = 1;
    cholSolve(A, P, col);
    for (let a = 0; a < P; a++) W[a * P + b] = col[a];
  }
  return W;
}

/** The four statistics f₁..f₄ of mc-request.ts for one design. */
export function seedStats(X: Float64Array, G: Float64Array, N: number, P: number, lam: Float64Array, m: Float64Array, lambda: number): SeedStats {
  const W = ridgeInverse(G, N, P, lambda);
  let f1 = 0;
  let f2 = 0;
  let f4 = 0;
  for (let a = 0; a < P; a++) {
    for (let b = 0; b < P; b++) {
      const sh = N * lambda * W[a * P + b];
      const w = lam[a] * m[b];
      f1 += w * sh * sh;
      f4 += w * ((a === b ? 1 : 0) - sh) ** 2;
    }
    f2 += lam[a] * m[a] * N * lambda * W[a * P + a];
  }
  let f3 = 0;
  const v = new Float64Array(P);
  for (let k = 0; k < N; k++) {
    let wk = 0;
    for (let i = 0; i < P; i++) wk += m[i] * X[k * P + i] ** 2;
    for (let a = 0; a < P; a++) {
      let acc = 0;
      for (let b = 0; b < P; b++) acc += W[a * P + b] * X[k * P + b];
      v[a] = acc;
    }
    let q = 0;
    for (let a = 0; a < P; a++) q += lam[a] * v[a] * v[a];
    f3 += wk * q;
  }
  return { f1, f2, f3, f4 };
}

export function runMonteCarloCpu(req: McRequest): McEstimate[] {
  validateMcRequest(req);
  const { P, N, seeds } = req;
  const seed = req.seed ?? 1;
  const { lam, m } = exactSpectrum(P, req.gamma, req.delta);
  let S = 0;
  for (let i = 0; i < P; i++) S += lam[i] * m[i];
  const perSeed: SeedStats[][] = req.lambdas.map(() => []);
  for (let s = 0; s < seeds; s++) {
    const X = sampleDesign(seed, s, N, P, lam);
    const G = gram(X, N, P);
    req.lambdas.forEach((lambda, li) => perSeed[li].push(seedStats(X, G, N, P, lam, m, lambda)));
  }
  return combine(req, S, perSeed);
}

/**
 * Brute force for one concrete split (inGroup1(k) ⇒ row k labelled by β₁): β̂ = W(G₁β₁ + G₂β₂), and
 * E_β L_j = Σ_ab λ_a m_b (U₁² + U₂² + 2ρU₁U₂)[a,b] with U_c = WG_c − [c = j]I.
 */
export function explicitSplitLosses(
  X: Float64Array, N: number, P: number, lam: Float64Array, m: Float64Array, rho: number, lambda: number, inGroup1: (k: number) => boolean,
): { L1: number; L2: number } {
  const G1 = gram(X, N, P, inGroup1);
  const G2 = gram(X, N, P, (k) => !inGroup1(k));
  const G = G1.map((v, q) => v + G2[q]);
  const W = ridgeInverse(G, N, P, lambda);
  const mul = (B: Float64Array) => {
    const C = new Float64Array(P * P);
    for (let a = 0; a < P; a++) for (let k = 0; k < P; k++) for (let b = 0; b < P; b++) C[a * P + b] += W[a * P + k] * B[k * P + b];
    return C;
  };
  const W1 = mul(G1);
  const W2 = mul(G2);
  let L1 = 0;
  let L2 = 0;
  for (let a = 0; a < P; a++) {
    for (let b = 0; b < P; b++) {
      const u1 = W1[a * P + b];
      const u2 = W2[a * P + b];
      const id = a === b ? 1 : 0;
      const w = lam[a] * m[b];
      L1 += w * ((u1 - id) ** 2 + u2 * u2 + 2 * rho * (u1 - id) * u2);
      L2 += w * (u1 * u1 + (u2 - id) ** 2 + 2 * rho * u1 * (u2 - id));
    }
  }
  return { L1, L2 };
}
