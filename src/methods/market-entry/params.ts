// User-facing settings of the market-entry experiment and their validation. Safety thresholds are given relative to
// L₂(β₁) = 2(1−ρ) Σ λ_i m_i, the safety loss of the pure-performance predictor (the paper's L*(ρ) = Θ(1−ρ) scale):
// τ = τ_rel · L₂(β₁). τ_rel < 1 means the constraint binds at large N; the closer τ_rel is to 1, the later it binds.

import { safetyLossOfPerformanceTarget } from './firm';
import { buildSpectrum, validateModel, type Spectrum } from './model';

export interface MarketParams {
  gamma: number;
  delta: number;
  rho: number;
  /** closed-form dimension (integer ≥ 2 or Infinity) */
  P: number;
  /** incumbent's threshold τ_I / L₂(β₁), in (0, ∞) */
  tauIRel: number;
  /** entrant's threshold τ_E / L₂(β₁), > tauIRel; Infinity = unconstrained entrant */
  tauERel: number;
  /** incumbent's dataset size for the headline N_E* */
  NI: number;
}

// The defaults live in defaults.ts, a module with no imports, so the page's client can import them alone.
export { DEFAULTS } from './defaults';

export function validateParams(p: MarketParams): void {
  validateModel({ gamma: p.gamma, delta: p.delta, rho: p.rho, P: p.P });
  if (!(p.tauIRel > 0) || !Number.isFinite(p.tauIRel)) {
    throw new RangeError(`market-entry: τ_I/L₂(β₁) = ${p.tauIRel} must be a finite number > 0`);
  }
  if (!(p.tauERel > p.tauIRel)) {
    throw new RangeError(
      `market-entry: τ_E/L₂(β₁) = ${p.tauERel} must exceed τ_I/L₂(β₁) = ${p.tauIRel} (the entrant faces the looser safety constraint)`,
    );
  }
  if (!(p.NI >= 1) || !Number.isFinite(p.NI)) throw new RangeError(`market-entry: N_I = ${p.NI} must be a finite number ≥ 1`);
}

export interface ResolvedMarket {
  params: MarketParams;
  spec: Spectrum;
  /** L₂(β₁), the scale of the thresholds */
  scale: number;
  tauI: number;
  tauE: number;
}

export function resolveMarket(p: MarketParams): ResolvedMarket {
  validateParams(p);
  const spec = buildSpectrum({ gamma: p.gamma, delta: p.delta, rho: p.rho, P: p.P });
  const scale = safetyLossOfPerformanceTarget(spec);
  return { params: p, spec, scale, tauI: p.tauIRel * scale, tauE: p.tauERel * scale };
}
