// Closed form (deterministic equivalent) against the GPU Monte Carlo at moderate P and N: a grid of (N, λ, α) and
// the closed-form optimal curve. Both use the same finite-P spectrum, so the only differences are finite-size effects
// of the deterministic equivalent (O(1/N), shrinking as N grows) and Monte Carlo error (reported as standard errors).

import type { Gpu } from '../../gpu/device';
import type { Runtime } from '../../gpu/runtime';
import { losses, kappaOf } from './closed-form';
import { optimiseFirm } from './firm';
import type { McEstimate } from './mc-request';
import { buildSpectrum } from './model';
import { runMonteCarlo } from './montecarlo';
import { runMonteCarloCpu } from './montecarlo-cpu';

export interface ValidationRow {
  N: number;
  lambda: number;
  alpha: number;
  mcL1: number;
  mcL2: number;
  mcL1se: number;
  mcL2se: number;
  cfL1: number;
  cfL2: number;
  /** |MC − CF| / CF, the larger of the two losses */
  relErr: number;
}

export interface ValidationSpec {
  gamma: number;
  delta: number;
  rho: number;
  P: number;
  Ns: number[];
  lambdas: number[];
  alphas: number[];
  seeds: number;
  seed?: number;
}

/** The CLI's default check: P = 64, N = 2P and 4P, three penalties, four label mixes, 32 designs per N. */
export function defaultValidation(gamma: number, delta: number, rho: number): ValidationSpec {
  return { gamma, delta, rho, P: 64, Ns: [128, 256], lambdas: [1e-3, 1e-2, 1e-1], alphas: [1, 0.9, 0.7, 0.5], seeds: 32, seed: 1 };
}

type Runner = (req: Parameters<typeof runMonteCarloCpu>[0]) => Promise<McEstimate[]>;

export function gpuRunner(gpu: Runtime | Gpu | null): Runner {
  if (!gpu) return async (req) => runMonteCarloCpu(req);
  return async (req) => (await runMonteCarlo(gpu, req)).estimates;
}

function row(spec: ReturnType<typeof buildSpectrum>, N: number, e: McEstimate): ValidationRow {
  const cf = losses(spec, N, e.alphaEff, kappaOf(spec, e.lambda, N));
  const relErr = Math.max(Math.abs(e.L1 - cf.L1) / cf.L1, Math.abs(e.L2 - cf.L2) / cf.L2);
  return { N, lambda: e.lambda, alpha: e.alphaEff, mcL1: e.L1, mcL2: e.L2, mcL1se: e.L1se, mcL2se: e.L2se, cfL1: cf.L1, cfL2: cf.L2, relErr };
}

export async function validateGrid(v: ValidationSpec, run: Runner): Promise<ValidationRow[]> {
  const spec = buildSpectrum({ gamma: v.gamma, delta: v.delta, rho: v.rho, P: v.P });
  const rows: ValidationRow[] = [];
  for (const N of v.Ns) {
    const est = await run({ ...v, N, seed: v.seed ?? 1 });
    for (const e of est) rows.push(row(spec, N, e));
  }
  return rows;
}

export const maxRelErr = (rows: ValidationRow[]) => rows.reduce((m, r) => Math.max(m, r.relErr), 0);

/** Smallest ridge penalty given to the f32 Monte Carlo (the closed-form optimum can be ridgeless). */
export const MC_LAMBDA_FLOOR = 1e-4;

/**
 * Monte Carlo points on the closed-form optimal curve at dimension P: for each N the firm's optimal (α*, λ*) under τ,
 * with λ* raised to MC_LAMBDA_FLOOR where needed (the closed form is then re-evaluated at the same λ).
 */
export async function mcOnOptimalCurve(
  model: { gamma: number; delta: number; rho: number },
  P: number,
  tau: number,
  Ns: number[],
  seeds: number,
  run: Runner,
): Promise<(ValidationRow & { optimalL1: number; clamped: boolean })[]> {
  const spec = buildSpectrum({ ...model, P });
  const out: (ValidationRow & { optimalL1: number; clamped: boolean })[] = [];
  for (const N of Ns) {
    const opt = optimiseFirm(spec, N, tau);
    if (!opt.feasible) continue;
    const lambda = Math.max(opt.lambda, MC_LAMBDA_FLOOR);
    const est = await run({ ...model, P, N, seeds, seed: 11, lambdas: [lambda], alphas: [opt.alpha] });
    out.push({ ...row(spec, N, est[0]), optimalL1: opt.L1, clamped: lambda !== opt.lambda });
  }
  return out;
}
