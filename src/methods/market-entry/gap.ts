// N_E* against an infinite-data incumbent (N_I = ∞) as a function of the gap D = G_I − G_E between the firms'
// infinite-data losses G = dS(1 − α∞)², α∞ = √(τ/(dS)).
//   Thm 1 sweep: unconstrained entrant (τ_E = ∞, so G_E = 0 and D = G_I), varying τ_I: N_E* = Θ(D^(−1/ν)).
//   Thm 5 sweep: fixed τ_I, τ_E ↓ τ_I so that D → 0: the entrant is itself noise-limited and N_E* = Θ(D^(−(ν+1)/ν)).
// We sweep D directly (the threshold is solved from D) and fit c = −d log N_E* / d log D.

import { entryThreshold, logGrid } from './entry';
import { limitLoss, safetyLossOfPerformanceTarget } from './firm';
import { nu, nuPrime, type Spectrum } from './model';
import { localSlopes, windowSlope } from './slopes';

export interface GapSweep {
  /** log10 of the gap D (Thm 1) or of D/G_I (Thm 5) */
  log10Gap: number[];
  /** the threshold that was varied (τ_I for Thm 1, τ_E for Thm 5), absolute */
  tau: number[];
  NE: number[];
  /** local c = −d log N_E* / d log D */
  localC: number[];
  /** c fitted over the decade of the smallest gaps */
  cSmallGap: number;
  predicted: number;
}

/** τ at which a firm's infinite-data loss equals G. */
export function tauForLimit(spec: Spectrum, G: number): number {
  const dS = safetyLossOfPerformanceTarget(spec);
  const alpha = 1 - Math.sqrt(Math.max(0, G) / dS);
  return alpha * alpha * dS;
}

function finish(x: number[], tau: number[], NE: number[], predicted: number): GapSweep {
  const y = NE.map((n) => Math.log10(n));
  // For small ν the narrowest gaps need N_E* beyond N_MAX (reported as Infinity): fit the narrowest finite decade.
  const first = y.findIndex(Number.isFinite);
  const lo = first < 0 ? NaN : x[first];
  return {
    log10Gap: x,
    tau,
    NE,
    localC: localSlopes(x, y, 0.5).map((s) => -s),
    cSmallGap: -windowSlope(x, y, lo, lo + 1),
    predicted,
  };
}

/** Thm 1: unconstrained entrant against incumbents with G_I = D ∈ [10^lo, 10^hi] · L₂(β₁). */
export function unconstrainedEntrantSweep(spec: Spectrum, lo = -10, hi = -2, perDecade = 2): GapSweep {
  const scale = safetyLossOfPerformanceTarget(spec);
  const x = logGrid(lo, hi, perDecade).map((g) => g + Math.log10(scale));
  const tau = x.map((g) => tauForLimit(spec, 10 ** g));
  const NE = x.map((g) => entryThreshold(spec, 10 ** g, Infinity).NE);
  return finish(x, tau, NE, 1 / nu(spec.params.gamma, spec.params.delta));
}

/** Thm 5: fixed τ_I, entrant thresholds with D/G_I ∈ [10^lo, 10^hi]. */
export function convergingThresholdSweep(spec: Spectrum, tauI: number, lo = -6, hi = -0.1, perDecade = 3): GapSweep {
  const GI = limitLoss(spec, tauI).L1;
  const v = nu(spec.params.gamma, spec.params.delta);
  // τ_I ≥ L₂(β₁): the incumbent is unconstrained at infinite data (G_I = 0), so there is no gap to close.
  if (!(GI > 0)) return { log10Gap: [], tau: [], NE: [], localC: [], cSmallGap: NaN, predicted: (v + 1) / v };
  const x = logGrid(lo, hi, perDecade);
  const tau = x.map((g) => tauForLimit(spec, GI - GI * 10 ** g));
  const NE = tau.map((t) => entryThreshold(spec, GI, t).NE);
  return finish(x, tau, NE, (v + 1) / v);
}

/** The reference notes' (third-party) reading of Thm 3/5's final exponent, shown beside our measurement. */
export function notesFinalGapExponent(spec: Spectrum): number {
  const vp = nuPrime(spec.params.gamma, spec.params.delta);
  return (vp + 1) / vp;
}
