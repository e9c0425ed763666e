// What a Monte Carlo run is asked for, what each seed measures, and how that becomes the two losses.
//
// Per seed the design X is random; the label split and the targets are averaged exactly (Rao–Blackwellised), which
// leaves only X's randomness. With W = (XᵀX + NλI)⁻¹, F = −NλW, e_1 = −(1−α)Δ, e_2 = αΔ and ξ = Σ_k s_k⟨Δ,x_k⟩x_k
// (s_k = 1−α or −α as in closed-form.ts): β̂ − β_j = Fβ_α + e_j + Wξ. Over the uniformly random split, E ξ = 0 and
// E ξξᵀ = c₀ Σ_k ⟨Δ,x_k⟩² x_kx_kᵀ − c₁ (XᵀXΔ)(XᵀXΔ)ᵀ, c₀ = α(1−α)N/(N−1), c₁ = α(1−α)/(N−1). Over the prior,
// E_β,split L_j is then exact in four per-seed statistics (m = prior moments, λ_a = Σ's eigenvalues):
//   f₁ = Σ_ab λ_a m_b (NλW_ab)²                   squared bias          (closed form: Q B₂)
//   f₂ = Σ_a λ_a m_a NλW_aa                        shrinkage             (B₁)
//   f₃ = Σ_k (Σ_i m_i x_ki²) x_kᵀWΣWx_k            heteroscedastic noise (Q (S df₂ + 2C₃) / N)
//   f₄ = Σ_ab λ_a m_b (δ_ab − NλW_ab)²             fixed-split term      (S − 2B₁ + Q B₂)
//   L₁ = a f₁ + 2(1−α)c f₂ + (1−α)² d S + d (c₀ f₃ − c₁ f₄),   L₂ = a f₁ − 2αc f₂ + α² d S + d (c₀ f₃ − c₁ f₄)
// with a = 1 − α(1−α)d, c = (2α−1)(1−ρ), d = 2(1−ρ), S = Σ λ_a m_a.

import { validateModel } from './model';

export interface McRequest {
  P: number;
  N: number;
  gamma: number;
  delta: number;
  rho: number;
  /** independent designs X */
  seeds: number;
  /** base seed of the counter-based PRNG */
  seed?: number;
  /** ridge penalties λ in (XᵀX + NλI)⁻¹Xᵀy; each costs one factorisation per seed */
  lambdas: number[];
  /** label mixes α (free: they enter only through scalar coefficients) */
  alphas: number[];
}

/** The four statistics of one seed at one λ. */
export interface SeedStats {
  f1: number;
  f2: number;
  f3: number;
  f4: number;
}

export interface McEstimate {
  alpha: number;
  /** n₁/N with n₁ = round(αN): the split actually modelled; compare the closed form at this α */
  alphaEff: number;
  lambda: number;
  L1: number;
  L2: number;
  /** standard errors across seeds */
  L1se: number;
  L2se: number;
  /** seed means of f₁..f₄ (component-wise checks against the closed form) */
  stats: SeedStats;
}

export const MC_MAX_P = 1024;

export function validateMcRequest(r: McRequest): void {
  validateModel({ gamma: r.gamma, delta: r.delta, rho: r.rho, P: r.P });
  const bad = (msg: string) => {
    throw new RangeError(`market-entry Monte Carlo: ${msg}`);
  };
  if (!Number.isInteger(r.P) || r.P > MC_MAX_P) bad(`P = ${r.P} must be an integer ≤ ${MC_MAX_P}`);
  if (!Number.isInteger(r.N) || r.N < 2) bad(`N = ${r.N} must be an integer ≥ 2`);
  if (!Number.isInteger(r.seeds) || r.seeds < 2) bad(`seeds = ${r.seeds} must be an integer ≥ 2 (the standard error needs two)`);
  if (r.lambdas.length === 0 || r.alphas.length === 0) bad('give at least one λ and one α');
  for (const a of r.alphas) if (!(a >= 0 && a <= 1)) bad(`α = ${a} must lie in [0, 1]`);
  for (const l of r.lambdas) {
    if (!(l >= 0) || !Number.isFinite(l)) bad(`λ = ${l} must be a finite number ≥ 0`);
    if (l === 0 && r.N <= r.P) bad(`λ = 0 needs N > P (XᵀX is singular otherwise); got N = ${r.N}, P = ${r.P}`);
  }
}

export const effectiveAlpha = (alpha: number, N: number) => Math.round(alpha * N) / N;

/** E over split and targets of (L₁, L₂) for one seed's statistics. */
export function lossesFromStats(st: SeedStats, alpha: number, N: number, rho: number, S: number): { L1: number; L2: number } {
  const d = 2 * (1 - rho);
  const u = alpha * (1 - alpha);
  const a = 1 - u * d;
  const c = (2 * alpha - 1) * (1 - rho);
  const noise = d * ((u * N * st.f3 - u * st.f4) / (N - 1));
  return {
    L1: a * st.f1 + 2 * (1 - alpha) * c * st.f2 + (1 - alpha) ** 2 * d * S + noise,
    L2: a * st.f1 - 2 * alpha * c * st.f2 + alpha * alpha * d * S + noise,
  };
}

/** Mean and standard error across seeds. */
export function meanSe(xs: ArrayLike<number>): { mean: number; se: number } {
  const n = xs.length;
  let m = 0;
  for (let i = 0; i < n; i++) m += xs[i];
  m /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (xs[i] - m) ** 2;
  return { mean: m, se: Math.sqrt(v / Math.max(1, n - 1) / n) };
}

/** Turn per-seed statistics (perSeed[λ index][seed]) into estimates for every (λ, α) pair, λ-major. */
export function combine(req: McRequest, S: number, perSeed: SeedStats[][]): McEstimate[] {
  const out: McEstimate[] = [];
  req.lambdas.forEach((lambda, li) => {
    const seeds = perSeed[li];
    const mean = (k: keyof SeedStats) => meanSe(seeds.map((s) => s[k])).mean;
    const stats = { f1: mean('f1'), f2: mean('f2'), f3: mean('f3'), f4: mean('f4') };
    for (const alpha of req.alphas) {
      const ae = effectiveAlpha(alpha, req.N);
      const ls = seeds.map((s) => lossesFromStats(s, ae, req.N, req.rho, S));
      const l1 = meanSe(ls.map((l) => l.L1));
      const l2 = meanSe(ls.map((l) => l.L2));
      out.push({ alpha, alphaEff: ae, lambda, L1: l1.mean, L2: l2.mean, L1se: l1.se, L2se: l2.se, stats });
    }
  });
  return out;
}
