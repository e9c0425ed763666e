// Market entry as a method of the kit (src/methods/kit): the closed-form analysis of one setting, and the Monte Carlo
// checks of the closed form. It needs no model; the Monte Carlo runs on the context's runtime (the engine worker's
// device in the app, Dawn in Node), or on the float64 CPU reference where there is no GPU.
import type { MethodContext } from '../kit/context';
import { defineMethod } from '../kit/method';
import { analyse, summarise, type MarketAnalysis } from './analysis';
import { logGrid, lossCurve, type CurvePoint } from './entry';
import { safetyLossOfPerformanceTarget } from './firm';
import { buildSpectrum, nu } from './model';
import type { MarketParams } from './params';
import { defaultValidation, gpuRunner, maxRelErr, mcOnOptimalCurve, validateGrid, type ValidationRow } from './validation';

export type { CurvePoint, MarketAnalysis, MarketParams, ValidationRow };

/** The CLI's JSON summary of an analysis (without the Monte Carlo field). */
export type MarketSummary = ReturnType<typeof summarise>;

export interface MarketResult {
  analysis: MarketAnalysis;
  summary: MarketSummary;
  /** ν = min(2(1+γ), δ+γ) at full precision, for the page's reading and theory guides (summary.nu is rounded). */
  nu: number;
}

export interface McPanelRequest {
  model: { gamma: number; delta: number; rho: number };
  /** Monte Carlo dimension. */
  P: number;
  /** Designs per N. */
  seeds: number;
  /** Safety threshold of the optimal curve, as a fraction of L₂(β₁). */
  tauRel: number;
}

export type CurveRow = ValidationRow & { optimalL1: number; clamped: boolean };

export interface McPanelResult {
  /** Where it ran, for the panel's text ('WebGPU: vendor architecture' or the float64 CPU reference). */
  device: string;
  /** The CLI's grid check: N = 2P, 4P × λ ∈ {1e-3, 1e-2, 1e-1} × α ∈ {1, 0.9, 0.7, 0.5}. */
  grid: ValidationRow[];
  /** Monte Carlo at the closed-form optimal (α*, λ*) for N = 16 … 1024 within [P/2, 8P]. */
  points: CurveRow[];
  /** The closed-form optimal curve at the same P and τ (24 points a decade, N = 8 … 8P). */
  curve: CurvePoint[];
  /** Largest relative difference over the grid, and along the optimal curve (NaN when no point was feasible). */
  maxRelErr: number;
  curveRelErr: number;
}

export interface GridCheck {
  device: string;
  rows: ValidationRow[];
  maxRelErr: number;
  worst: ValidationRow;
  P: number;
  seeds: number;
}

/** The Monte Carlo's runner: the context's GPU, else the float64 CPU reference. */
async function runner(ctx: MethodContext) {
  try {
    const rt = await ctx.runtime();
    return { run: gpuRunner(rt), device: `WebGPU: ${rt.gpu.adapter.vendor} ${rt.gpu.adapter.architecture}`.trim() };
  } catch {
    return { run: gpuRunner(null), device: 'no WebGPU: float64 CPU reference' };
  }
}

export default defineMethod({
  calls: {
    /** The closed form for one setting (a full sweep takes a second or two). */
    async analyse(_ctx, params: MarketParams): Promise<MarketResult> {
      const analysis = analyse(params);
      return { analysis, summary: summarise(analysis), nu: nu(params.gamma, params.delta) };
    },

    /** The page's panel: the grid check and Monte Carlo points on the closed-form optimal curve. */
    async monteCarlo(ctx, { model, P, seeds, tauRel }: McPanelRequest): Promise<McPanelResult> {
      const { run, device } = await runner(ctx);
      const m = { gamma: model.gamma, delta: model.delta, rho: model.rho };
      const grid = await validateGrid({ ...m, P, Ns: [2 * P, 4 * P], lambdas: [1e-3, 1e-2, 1e-1], alphas: [1, 0.9, 0.7, 0.5], seeds, seed: 1 }, run);
      const spec = buildSpectrum({ ...m, P });
      const tau = tauRel * safetyLossOfPerformanceTarget(spec);
      const Ns = [16, 32, 64, 128, 256, 512, 1024].filter((n) => n >= P / 2 && n <= 8 * P);
      const points = await mcOnOptimalCurve(m, P, tau, Ns, seeds, run);
      const curve = lossCurve(spec, tau, logGrid(Math.log10(8), Math.log10(8 * P), 24));
      return { device, grid, points, curve, maxRelErr: grid.length ? maxRelErr(grid) : NaN, curveRelErr: points.length ? maxRelErr(points) : NaN };
    },

    /** The CLI's check: P = 64, N = 2P and 4P, three penalties, four label mixes, `seeds` designs per N (default 32). */
    async check(ctx, req: { gamma: number; delta: number; rho: number; seeds?: number }): Promise<GridCheck> {
      const { run, device } = await runner(ctx);
      const v = defaultValidation(req.gamma, req.delta, req.rho);
      v.seeds = req.seeds ?? v.seeds;
      const rows = await validateGrid(v, run);
      return { device, rows, maxRelErr: maxRelErr(rows), worst: rows.reduce((a, b) => (b.relErr > a.relErr ? b : a)), P: v.P, seeds: v.seeds };
    },
  },
});
