// One firm's problem (paper §2): choose the label mix α ∈ [0, 1] and ridge penalty λ ≥ 0 to minimise L₁ subject to
// L₂ ≤ τ. For fixed κ (equivalently λ), L₁ and L₂ are quadratics in α, so the inner problem is solved exactly; the
// outer problem is one-dimensional in log κ (grid, then golden-section refinement around the best grid point).

import { evalQuadratic, kappaFloor, lambdaOf, lossesFromSums, lossQuadratics, type Quadratic } from './closed-form';
import type { Spectrum } from './model';

export interface FirmOptimum {
  feasible: boolean;
  L1: number;
  L2: number;
  alpha: number;
  kappa: number;
  lambda: number;
}

const INFEASIBLE: FirmOptimum = { feasible: false, L1: Infinity, L2: Infinity, alpha: NaN, kappa: NaN, lambda: NaN };

/** Real roots of c0 + c1 a + c2 a² = 0 inside (0, 1), sorted. */
function rootsIn01(c: Quadratic): number[] {
  const [c0, c1, c2] = c;
  const out: number[] = [];
  const scale = Math.abs(c0) + Math.abs(c1) + Math.abs(c2);
  if (Math.abs(c2) <= 1e-14 * scale) {
    if (c1 !== 0) out.push(-c0 / c1);
  } else {
    const disc = c1 * c1 - 4 * c2 * c0;
    if (disc >= 0) {
      // Numerically stable pair of roots.
      const qq = -0.5 * (c1 + Math.sign(c1 || 1) * Math.sqrt(disc));
      out.push(qq / c2);
      if (qq !== 0) out.push(c0 / qq);
    }
  }
  return out.filter((r) => r > 0 && r < 1).sort((a, b) => a - b);
}

/** argmin over α ∈ [0, 1] with L₂(α) ≤ τ of L₁(α); null when no α is feasible. */
export function bestAlpha(L1: Quadratic, L2: Quadratic, tau: number): { alpha: number; L1: number } | null {
  const g: Quadratic = [L2[0] - tau, L2[1], L2[2]];
  const cuts = [0, ...rootsIn01(g), 1];
  const candidates: number[] = [];
  for (let k = 0; k + 1 < cuts.length; k++) {
    const a = cuts[k];
    const b = cuts[k + 1];
    if (evalQuadratic(g, 0.5 * (a + b)) > 0) continue; // infeasible piece
    candidates.push(a, b);
    if (L1[2] > 0) {
      const v = -L1[1] / (2 * L1[2]);
      if (v > a && v < b) candidates.push(v);
    }
  }
  if (cuts.length === 2 && candidates.length === 0) {
    // No sign change in (0, 1): the single piece may still touch τ only at an endpoint.
    for (const a of [0, 1]) if (evalQuadratic(g, a) <= 0) candidates.push(a);
  }
  let best: { alpha: number; L1: number } | null = null;
  for (const a of candidates) {
    const v = evalQuadratic(L1, a);
    if (!best || v < best.L1) best = { alpha: a, L1: v };
  }
  return best;
}

export interface FirmOptions {
  /** grid points over log κ before refinement */
  grid?: number;
  /** upper end of the κ search (β̂ ≈ 0 beyond it) */
  kappaMax?: number;
}

/** Optimal (α, λ) and the resulting losses for a firm with N samples and safety threshold τ (τ = Infinity: unconstrained). */
export function optimiseFirm(spec: Spectrum, N: number, tau: number, opts: FirmOptions = {}): FirmOptimum {
  if (!(N > 0) || !Number.isFinite(N)) throw new RangeError(`market-entry: N = ${N} must be a finite number > 0`);
  if (!(tau > 0)) throw new RangeError(`market-entry: threshold τ = ${tau} must be > 0`);
  const gridN = opts.grid ?? 96;
  const kMax = opts.kappaMax ?? 1e3 * spec.lam[0];
  const k0 = kappaFloor(spec, N);
  // N ≥ P: κ₀ = 0; below the smallest eigenvalue κ no longer changes anything, so stop a few decades under it.
  const kLo = k0 > 0 ? k0 * (1 + 1e-9) : 1e-4 * spec.lam[spec.lam.length - 1];
  const sLo = Math.log(kLo);
  const sHi = Math.log(kMax);
  const inner = (s: number) => {
    const q = lossQuadratics(spec, N, Math.exp(s));
    const b = bestAlpha(q.L1, q.L2, tau);
    if (!b) return { v: Infinity, alpha: NaN, L2: NaN };
    const l = lossesFromSums(spec, N, q.sums, b.alpha);
    return { v: l.L1, alpha: b.alpha, L2: l.L2 };
  };
  const ss: number[] = [];
  const vs: number[] = [];
  for (let k = 0; k < gridN; k++) {
    const s = sLo + ((sHi - sLo) * k) / (gridN - 1);
    ss.push(s);
    vs.push(inner(s).v);
  }
  let kb = 0;
  for (let k = 1; k < gridN; k++) if (vs[k] < vs[kb]) kb = k;
  if (!Number.isFinite(vs[kb])) return INFEASIBLE;
  // Golden-section search on the bracket around the best grid point.
  let a = ss[Math.max(0, kb - 1)];
  let b = ss[Math.min(gridN - 1, kb + 1)];
  const phi = (Math.sqrt(5) - 1) / 2;
  let x1 = b - phi * (b - a);
  let x2 = a + phi * (b - a);
  let f1 = inner(x1).v;
  let f2 = inner(x2).v;
  for (let it = 0; it < 80 && b - a > 1e-10 * Math.max(1, Math.abs(a)); it++) {
    if (f1 <= f2) {
      b = x2;
      x2 = x1;
      f2 = f1;
      x1 = b - phi * (b - a);
      f1 = inner(x1).v;
    } else {
      a = x1;
      x1 = x2;
      f1 = f2;
      x2 = a + phi * (b - a);
      f2 = inner(x2).v;
    }
  }
  // Keep the best point seen (the grid point itself may win at a bracket edge).
  let sBest = ss[kb];
  let r = inner(sBest);
  for (const s of [x1, x2]) {
    const c = inner(s);
    if (c.v < r.v) {
      r = c;
      sBest = s;
    }
  }
  const kappa = Math.exp(sBest);
  return { feasible: true, L1: r.v, L2: r.L2, alpha: r.alpha, kappa, lambda: Math.max(0, lambdaOf(spec, kappa, N)) };
}

/**
 * Infinite-data optimum: β̂ → β_α, so L₁ = d S (1−α)², L₂ = d S α² and the best feasible α is min(1, √(τ/(dS))).
 * (Shrinkage does not help at N = ∞: its first-order gain in L₂ is exactly offset in L₁, leaving a second-order cost.)
 */
export function limitLoss(spec: Spectrum, tau: number): { L1: number; alpha: number } {
  const dS = 2 * (1 - spec.params.rho) * spec.S;
  const alpha = Math.min(1, Math.sqrt(tau / dS));
  return { L1: dS * (1 - alpha) ** 2, alpha };
}

/** L₂ of the pure performance predictor β₁ (the scale against which thresholds are quoted). */
export function safetyLossOfPerformanceTarget(spec: Spectrum): number {
  return 2 * (1 - spec.params.rho) * spec.S;
}
