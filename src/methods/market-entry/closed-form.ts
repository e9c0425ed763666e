// Deterministic equivalents of the ridge risk for α-mixture labels (the paper's Marchenko–Pastur step).
//
// Ridge: β̂ = (Σ̂ + λI)⁻¹ (1/N) Σ_k x_k y_k, Σ̂ = XᵀX/N = Σ̂₁ + Σ̂₂ (rows labelled by β₁, by β₂). n₁ = αN labels are
// ⟨β₁,x⟩, the rest ⟨β₂,x⟩. With β_α = αβ₁ + (1−α)β₂, Δ = β₁ − β₂ and R = (Σ̂ + λ)⁻¹:
//   β̂ − β_α = −λRβ_α + R M Δ,   M = (1/N) Σ_k s_k x_k x_kᵀ,   s_k = 1−α (group 1) or −α (group 2).
// Rows are exchangeable, so given Σ̂ the split is a uniform random subset: E[M | Σ̂] = 0 (no bias–noise cross term,
// and E β̂ − β_α = −λRβ_α exactly), E s_k² = α(1−α), E s_k s_l = −α(1−α)/(N−1). The "noise" R M Δ is the label
// mismatch ε_k = s_k⟨Δ,x_k⟩; it is heteroscedastic (its size moves with x_k along ΣΔ). By leave-one-out
// (R x_k = R₋ₖx_k/(1+h_k)) and Isserlis, E[(x_kᵀΔ)² x_kᵀBx_k] = ΔᵀΣΔ tr(BΣ) + 2ΔᵀΣBΣΔ, which gives, with κ solving
// λ = κ(1 − df₁(κ)/N), Q = 1/(1 − df₂/N) and the usual equivalent λ²RAR ≍ κ²(Σ+κ)⁻¹A(Σ+κ)⁻¹ + κ²Q tr(AΣ(Σ+κ)⁻²)/N·Σ(Σ+κ)⁻²:
//   bias      κ²Q β_αᵀΣ(Σ+κ)⁻²β_α
//   noise     α(1−α)/(N−1) · { Q [ΔᵀΣΔ df₂ + 2 ΔᵀΣ³(Σ+κ)⁻²Δ] − Δᵀ(I−λR)Σ(I−λR)Δ }
//             (the first part is the homoscedastic σ² df₂/N with σ² = α(1−α)‖Δ‖²_Σ plus the Isserlis term, relative
//             size ≤ 2/df₂; the second is the fixed-split anticorrelation; both vanish relative to σ² df₂ as df₂ grows)
//   L_j = bias + noise + 2E⟨β̂ − β_α, β_α − β_j⟩_Σ + ‖β_α − β_j‖²_Σ,  E[β̂] − β_α ≍ −κ(Σ+κ)⁻¹β_α.
// Averaging over the prior (per direction: E β_α² = (1 − α(1−α)d) m, E β_α Δ = (2α−1)(1−ρ) m, E Δ² = d m with
// d = 2(1−ρ)) makes L₁ and L₂ quadratics in α for fixed (N, κ), which firm.ts exploits. The Monte Carlo
// (montecarlo.ts) checks all of this, including the two 1/df corrections.

import type { Spectrum } from './model';

export interface SpectralSums {
  /** df₁ = Σ λ/(λ+κ) */
  df1: number;
  /** df₂ = Σ λ²/(λ+κ)² */
  df2: number;
  /** B₁ = Σ κλm/(λ+κ): the first-order (shrinkage) term */
  B1: number;
  /** B₂ = Σ κ²λm/(λ+κ)²: the squared bias */
  B2: number;
  /** C₃ = Σ λ³m/(λ+κ)²: the noise's correlation with the design (Isserlis term) */
  C3: number;
}

export function spectralSums(spec: Spectrum, kappa: number): SpectralSums {
  const { lam, w, lm } = spec;
  let df1 = 0;
  let df2 = 0;
  let B1 = 0;
  let B2 = 0;
  let C3 = 0;
  for (let q = 0; q < lam.length; q++) {
    const den = lam[q] + kappa;
    const r = lam[q] / den;
    const s = kappa / den; // = 1 − r, computed directly to avoid cancellation
    const wq = w[q];
    df1 += wq * r;
    df2 += wq * r * r;
    B1 += wq * lm[q] * s;
    B2 += wq * lm[q] * s * s;
    C3 += wq * lm[q] * r * r;
  }
  if (spec.xEnd < Infinity) {
    // Far tail: λ ≪ κ there, so r ≈ λ/κ and s ≈ 1; integrate the leading terms of x^(−p) analytically.
    const { gamma, delta } = spec.params;
    const X = spec.xEnd;
    df1 += Math.pow(X, -gamma) / (gamma * kappa);
    df2 += Math.pow(X, -1 - 2 * gamma) / ((1 + 2 * gamma) * kappa * kappa);
    const t = Math.pow(X, -gamma - delta) / (gamma + delta);
    B1 += t;
    B2 += t;
    C3 += Math.pow(X, -2 - 3 * gamma - delta) / ((2 + 3 * gamma + delta) * kappa * kappa);
  }
  return { df1, df2, B1, B2, C3 };
}

/** Effective dimension df₁(κ) only (cheaper; used to find the interpolation threshold). */
export function df1Of(spec: Spectrum, kappa: number): number {
  const { lam, w } = spec;
  let df1 = 0;
  for (let q = 0; q < lam.length; q++) df1 += (w[q] * lam[q]) / (lam[q] + kappa);
  if (spec.xEnd < Infinity) df1 += Math.pow(spec.xEnd, -spec.params.gamma) / (spec.params.gamma * kappa);
  return df1;
}

/**
 * Smallest admissible κ for sample size N, i.e. the ridgeless limit λ → 0⁺: κ₀ solves df₁(κ₀) = N when N < P, and
 * κ₀ = 0 when N ≥ P (then λ → 0 is ordinary least squares).
 */
export function kappaFloor(spec: Spectrum, N: number): number {
  if (!(N > 0)) throw new RangeError(`market-entry: sample size N = ${N} must be > 0`);
  if (N >= spec.params.P) return 0;
  // df₁ is decreasing in κ; bracket in log κ and bisect.
  let lo = -1;
  let hi = 1;
  while (df1Of(spec, Math.exp(lo)) < N) lo -= 4;
  while (df1Of(spec, Math.exp(hi)) > N) hi += 4;
  for (let it = 0; it < 200 && hi - lo > 1e-13; it++) {
    const mid = 0.5 * (lo + hi);
    if (df1Of(spec, Math.exp(mid)) > N) lo = mid;
    else hi = mid;
  }
  return Math.exp(hi);
}

/** Ridge penalty λ that produces effective regularisation κ at sample size N. */
export function lambdaOf(spec: Spectrum, kappa: number, N: number): number {
  return kappa * (1 - df1Of(spec, kappa) / N);
}

/** Effective regularisation κ for a given ridge penalty λ > 0 (safeguarded bisection on the fixed point). */
export function kappaOf(spec: Spectrum, lambda: number, N: number): number {
  if (!(lambda > 0)) throw new RangeError(`market-entry: ridge penalty λ = ${lambda} must be > 0`);
  // κ − κ df₁(κ)/N is increasing in κ on [κ₀, ∞), and κ ∈ [λ, λ + tr Σ / N].
  let lo = Math.log(Math.max(lambda, kappaFloor(spec, N)));
  let hi = Math.log(lambda + spec.trace / N);
  for (let it = 0; it < 200 && hi - lo > 1e-14; it++) {
    const mid = 0.5 * (lo + hi);
    if (lambdaOf(spec, Math.exp(mid), N) < lambda) lo = mid;
    else hi = mid;
  }
  return Math.exp(0.5 * (lo + hi));
}

/**
 * v₀: the mixture-noise term per unit α(1−α)·d, i.e. noise = α(1−α) d v₀ after averaging Δ over the prior:
 * v₀ = { Q (S df₂ + 2C₃) − (S − 2B₁ + Q B₂) } / (N − 1).
 */
export function noisePerUnit(spec: Spectrum, N: number, sums: SpectralSums): number {
  if (!(N > 1)) throw new RangeError(`market-entry: N = ${N} must exceed 1 (a label split needs two samples)`);
  const Q = 1 / (1 - sums.df2 / N);
  const S = spec.S;
  return (Q * (S * sums.df2 + 2 * sums.C3) - (S - 2 * sums.B1 + Q * sums.B2)) / (N - 1);
}

/** Coefficients [c0, c1, c2] of L(α) = c0 + c1 α + c2 α². */
export type Quadratic = [number, number, number];

export interface LossQuadratics {
  L1: Quadratic;
  L2: Quadratic;
  sums: SpectralSums;
}

/** L₁(α) and L₂(α) at fixed (N, κ), averaged over the target prior. */
export function lossQuadratics(spec: Spectrum, N: number, kappa: number): LossQuadratics {
  const sums = spectralSums(spec, kappa);
  const { df2, B1, B2 } = sums;
  const S = spec.S;
  const d = 2 * (1 - spec.params.rho);
  const Q = 1 / (1 - df2 / N);
  // Shared part E‖β̂ − β_α‖²_Σ = Q B₂ + α(1−α) d (v₀ − Q B₂) (the −Q B₂ is a(α) = 1 − α(1−α)d in the bias).
  const b0 = Q * B2;
  const b1 = d * (noisePerUnit(spec, N, sums) - Q * B2);
  const b2 = -b1;
  return {
    L1: [b0 + d * (S - B1), b1 + d * (3 * B1 - 2 * S), b2 + d * (S - 2 * B1)],
    L2: [b0, b1 + d * B1, b2 + d * (S - 2 * B1)],
    sums,
  };
}

export const evalQuadratic = (c: Quadratic, a: number) => c[0] + a * (c[1] + a * c[2]);

/**
 * L₁ and L₂ in factored form. Near the plateau L₁ ≈ d S (1−α)² is tiny while the quadratic's coefficients are O(S), so
 * the expanded polynomial would cancel catastrophically; every term here is small when L₁ is.
 */
export function lossesFromSums(spec: Spectrum, N: number, sums: SpectralSums, alpha: number): { L1: number; L2: number } {
  const S = spec.S;
  const d = 2 * (1 - spec.params.rho);
  const Q = 1 / (1 - sums.df2 / N);
  const u = alpha * (1 - alpha);
  const shared = Q * sums.B2 + u * d * (noisePerUnit(spec, N, sums) - Q * sums.B2);
  const c = 2 * alpha - 1;
  const beta = 1 - alpha;
  return {
    L1: shared + d * (beta * c * sums.B1 + beta * beta * S),
    L2: shared + d * (-alpha * c * sums.B1 + alpha * alpha * S),
  };
}

/** Both population losses for one firm's choice (α, κ) at sample size N. */
export function losses(spec: Spectrum, N: number, alpha: number, kappa: number): { L1: number; L2: number } {
  return lossesFromSums(spec, N, spectralSums(spec, kappa), alpha);
}

/** Same, for a ridge penalty λ instead of κ. */
export function lossesAtLambda(spec: Spectrum, N: number, alpha: number, lambda: number): { L1: number; L2: number } {
  return losses(spec, N, alpha, kappaOf(spec, lambda, N));
}
