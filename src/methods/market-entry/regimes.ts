// The three regimes of the multi-objective scaling law (Thm 2) and of N_E* against N_I (Thm 4).
//
// Regime windows are placed from two structural scales of the incumbent's problem, not from the fitted slopes:
//   N_b — the constraint's onset: the smallest N at which the unconstrained optimum violates L₂ ≤ τ;
//   N_∞ — the plateau: the smallest N at which L₁ ≤ 2·G (G = the infinite-data loss), i.e. excess = limit.
// Regime 1 (≈ N^−ν, no trade-off yet) is the decade [N_b/10^1.5, N_b/10^0.5]; regime 2 (≈ N^−ν/(ν+1), the mixed labels
// act as noise of variance α(1−α)E‖β₁−β₂‖²_Σ) is the decade centred at √(N_b·N_∞); regime 3 (→ 0) is [10² N_∞, 10³ N_∞].

import { entryThresholdFromCurve, LOG10_N_MIN, logGrid, lossCurve, N_MIN, type CurvePoint } from './entry';
import { limitLoss, optimiseFirm } from './firm';
import { nu, type Spectrum } from './model';
import { localSlopes, windowSlope, type Window } from './slopes';

export const REGIME_NAMES = ['before the constraint binds', 'constraint binds, finite-sample', 'infinite-data plateau'] as const;
const POINTS_PER_WINDOW = 9;

/** Bisection on log10 N ∈ [log10 N_MIN, 30] for the first N where pred(N) holds (pred assumed monotone). */
function firstN(pred: (N: number) => boolean): number {
  if (pred(N_MIN)) return N_MIN;
  if (!pred(1e30)) return Infinity;
  let a = LOG10_N_MIN;
  let b = 30;
  while (b - a > 1e-4) {
    const m = 0.5 * (a + b);
    if (pred(10 ** m)) b = m;
    else a = m;
  }
  return 10 ** b;
}

/** N_b: where the unconstrained optimum first violates the safety constraint. */
export function constraintOnset(spec: Spectrum, tau: number): number {
  return firstN((N) => optimiseFirm(spec, N, Infinity).L2 > tau);
}

/** N_∞: where the optimised L₁ first comes within a factor 2 of its infinite-data limit G. */
export function plateauOnset(spec: Spectrum, tau: number): number {
  const G = limitLoss(spec, tau).L1;
  if (!(G > 0)) return Infinity;
  return firstN((N) => optimiseFirm(spec, N, tau).L1 <= 2 * G);
}

/** The three regime windows (log10 N); null where a regime is not resolved by the given scales. */
export function regimeWindows(onset: number, plateau: number): (Window | null)[] {
  const nb = Math.log10(onset);
  const np = Math.log10(plateau);
  const w1 = Number.isFinite(nb) && nb - 1.5 >= 1 ? { lo: nb - 1.5, hi: nb - 0.5 } : null;
  const w2 = Number.isFinite(nb) && Number.isFinite(np) && np - nb >= 2.5 ? { lo: (nb + np) / 2 - 0.5, hi: (nb + np) / 2 + 0.5 } : null;
  const w3 = Number.isFinite(np) && np + 3 <= 29 ? { lo: np + 2, hi: np + 3 } : null;
  return [w1, w2, w3];
}

export interface LossScaling {
  curve: CurvePoint[];
  log10N: number[];
  /** local slope of log L₁ vs log N (negated: a positive number means decreasing loss) */
  localExponent: number[];
  G: number;
  onset: number;
  plateau: number;
  windows: (Window | null)[];
  /** fitted −d log L₁ / d log N in each window */
  exponents: number[];
  /** fitted −d log (L₁ − G) / d log N in each window (the excess loss, Thm 3) */
  excessExponents: number[];
  predicted: number[];
}

function windowPoints(w: Window): number[] {
  return logGrid(w.lo, w.hi, (POINTS_PER_WINDOW - 1) / (w.hi - w.lo));
}

export function lossScaling(spec: Spectrum, tau: number, perDecade = 8): LossScaling {
  const v = nu(spec.params.gamma, spec.params.delta);
  const G = limitLoss(spec, tau).L1;
  const onset = constraintOnset(spec, tau);
  const plateau = plateauOnset(spec, tau);
  const windows = regimeWindows(onset, plateau);
  const top = Number.isFinite(plateau) ? Math.log10(plateau) + 3.5 : Number.isFinite(onset) ? Math.log10(onset) + 8 : 12;
  const log10N = logGrid(LOG10_N_MIN, Math.min(30, Math.max(6, top)), perDecade);
  const curve = lossCurve(spec, tau, log10N);
  const logL = curve.map((p) => Math.log10(p.L1));
  const localExponent = localSlopes(log10N, logL).map((s) => -s);
  const exponents: number[] = [];
  const excessExponents: number[] = [];
  for (const w of windows) {
    if (!w) {
      exponents.push(NaN);
      excessExponents.push(NaN);
      continue;
    }
    const xs = windowPoints(w);
    const pts = lossCurve(spec, tau, xs);
    exponents.push(-windowSlope(xs, pts.map((p) => Math.log10(p.L1)), w.lo, w.hi));
    excessExponents.push(-windowSlope(xs, pts.map((p) => Math.log10(p.L1 - G)), w.lo, w.hi));
  }
  return { curve, log10N, localExponent, G, onset, plateau, windows, exponents, excessExponents, predicted: [v, v / (v + 1), 0] };
}

export interface EntryScaling {
  log10NI: number[];
  NE: number[];
  incumbentL1: number[];
  /** local slope of log N_E* vs log N_I */
  localSlope: number[];
  windows: (Window | null)[];
  slopes: number[];
  predicted: number[];
  entrantCurve: CurvePoint[];
}

/** N_E* against N_I, with the windows of the incumbent's regimes (from lossScaling of the incumbent). */
export function entryScaling(spec: Spectrum, tauI: number, tauE: number, incumbent: LossScaling, perDecade = 4): EntryScaling {
  const v = nu(spec.params.gamma, spec.params.delta);
  const G = incumbent.G;
  // The entrant's curve only has to reach the incumbent's plateau loss; extend until it does.
  let hiE = 6;
  let probe = optimiseFirm(spec, 10 ** hiE, tauE).L1;
  while (probe > G && hiE < 30) probe = optimiseFirm(spec, 10 ** ++hiE, tauE).L1;
  const entrantCurve = lossCurve(spec, tauE, logGrid(LOG10_N_MIN, hiE, 10));
  const neFor = (logNI: number) => {
    const target = optimiseFirm(spec, 10 ** logNI, tauI).L1;
    return { target, NE: entryThresholdFromCurve(spec, target, tauE, entrantCurve).NE };
  };
  const log10NI = logGrid(LOG10_N_MIN, incumbent.log10N[incumbent.log10N.length - 1], perDecade);
  const rows = log10NI.map(neFor);
  const NE = rows.map((r) => r.NE);
  const localSlope = localSlopes(log10NI, NE.map(Math.log10), 0.35);
  const slopes = incumbent.windows.map((w) => {
    if (!w) return NaN;
    const xs = windowPoints(w);
    return windowSlope(xs, xs.map((x) => Math.log10(neFor(x).NE)), w.lo, w.hi);
  });
  return {
    log10NI,
    NE,
    incumbentL1: rows.map((r) => r.target),
    localSlope,
    windows: incumbent.windows,
    slopes,
    predicted: [1, 1 / (v + 1), 0],
    entrantCurve,
  };
}
