// Market entry (paper §3): the entrant's threshold N_E* = the smallest N_E whose optimised L₁ (under τ_E) is at most the
// incumbent's optimised L₁ (N_I samples, τ_I). Found by bisection on log N, bracketed either from a precomputed loss
// curve (many N_I against one entrant) or by doubling outward (one-off queries).

import { limitLoss, optimiseFirm, type FirmOptimum } from './firm';
import type { Spectrum } from './model';

export interface CurvePoint extends FirmOptimum {
  N: number;
}

/** Optimised firm on a grid of log10 N values. */
export function lossCurve(spec: Spectrum, tau: number, log10Ns: number[]): CurvePoint[] {
  return log10Ns.map((e) => ({ N: 10 ** e, ...optimiseFirm(spec, 10 ** e, tau) }));
}

export function logGrid(lo: number, hi: number, perDecade: number): number[] {
  const n = Math.max(2, Math.round((hi - lo) * perDecade) + 1);
  return Array.from({ length: n }, (_, k) => lo + ((hi - lo) * k) / (n - 1));
}

/** Incumbent's optimised L₁ (N_I = Infinity gives the infinite-data limit G_I). */
export function incumbentLoss(spec: Spectrum, NI: number, tauI: number): number {
  if (NI === Infinity) return limitLoss(spec, tauI).L1;
  return optimiseFirm(spec, NI, tauI).L1;
}

/** smallest sample size considered: a label split needs two samples */
export const N_MIN = 2;
export const LOG10_N_MIN = Math.log10(N_MIN);
export const N_MAX = 1e30;
const BISECT_STEPS = 60;
const BISECT_TOL = 1e-7; // in ln N: far below what a one-decade slope fit can resolve

/** Bisection on log N for the first N with L₁^E(N) ≤ target, given a bracket lo (fails) < hi (succeeds). */
function bisect(spec: Spectrum, tauE: number, target: number, lo: number, hi: number): number {
  let a = Math.log(lo);
  let b = Math.log(hi);
  for (let it = 0; it < BISECT_STEPS && b - a > BISECT_TOL; it++) {
    const mid = 0.5 * (a + b);
    if (optimiseFirm(spec, Math.exp(mid), tauE).L1 <= target) b = mid;
    else a = mid;
  }
  return Math.exp(b);
}

export interface EntryResult {
  /** N_E* (Infinity when the entrant can never match the incumbent) */
  NE: number;
  /** incumbent's optimised L₁ that the entrant has to match */
  target: number;
  /** true when N_E* is at the floor N_MIN (the entrant matches with the smallest sample) */
  atFloor: boolean;
}

/** N_E* for one incumbent loss level, bracketing by factors of 10 from N = N_MIN. */
export function entryThreshold(spec: Spectrum, target: number, tauE: number): EntryResult {
  if (limitLoss(spec, tauE).L1 >= target) return { NE: Infinity, target, atFloor: false };
  if (optimiseFirm(spec, N_MIN, tauE).L1 <= target) return { NE: N_MIN, target, atFloor: true };
  let lo = N_MIN;
  let hi = N_MIN * 10;
  while (optimiseFirm(spec, hi, tauE).L1 > target) {
    lo = hi;
    hi *= 10;
    if (hi > N_MAX) return { NE: Infinity, target, atFloor: false };
  }
  return { NE: bisect(spec, tauE, target, lo, hi), target, atFloor: false };
}

/** N_E* for many incumbent losses against one entrant, bracketing from the entrant's precomputed loss curve. */
export function entryThresholdFromCurve(spec: Spectrum, target: number, tauE: number, curve: CurvePoint[]): EntryResult {
  const k = curve.findIndex((p) => p.L1 <= target);
  if (k < 0) return entryThreshold(spec, target, tauE);
  if (k === 0) {
    if (curve[0].N <= N_MIN) return { NE: N_MIN, target, atFloor: true };
    return entryThreshold(spec, target, tauE);
  }
  return { NE: bisect(spec, tauE, target, curve[k - 1].N, curve[k].N), target, atFloor: false };
}

export function validateThresholds(tauI: number, tauE: number): void {
  if (!(tauI > 0) || !Number.isFinite(tauI)) throw new RangeError(`market-entry: τ_I = ${tauI} must be a finite number > 0`);
  if (!(tauE > 0)) throw new RangeError(`market-entry: τ_E = ${tauE} must be > 0`);
  if (!(tauE > tauI)) {
    throw new RangeError(`market-entry: τ_E = ${tauE} must exceed τ_I = ${tauI} (the entrant faces the looser safety constraint)`);
  }
}
