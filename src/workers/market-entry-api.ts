// The market-entry worker's API, shared by the worker (market-entry.worker.ts) and the page's client
// (market-entry-client.ts): the closed-form analysis the page shows, and the Monte Carlo checks of its panel.
// Everything crossing the worker boundary is plain data; the GPU device stays with whoever created the API.

import type { Gpu } from '../gpu/device';
import { analyse, summarise, type MarketAnalysis } from '../methods/market-entry/analysis';
import { logGrid, lossCurve, type CurvePoint } from '../methods/market-entry/entry';
import { safetyLossOfPerformanceTarget } from '../methods/market-entry/firm';
import { buildSpectrum, nu } from '../methods/market-entry/model';
import type { MarketParams } from '../methods/market-entry/params';
import { gpuRunner, maxRelErr, mcOnOptimalCurve, validateGrid, type ValidationRow } from '../methods/market-entry/validation';

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

export interface MarketEntryApi {
  /** The closed form for one setting (a full sweep takes a second or two). */
  analyse(params: MarketParams): Promise<MarketResult>;
  /** Closed form against the Monte Carlo: the grid check and points on the optimal curve. */
  monteCarlo(req: McPanelRequest): Promise<McPanelResult>;
}

/**
 * `openGpu` is called once, on the first Monte Carlo; when it fails or gives null, the Monte Carlo runs on the float64
 * CPU reference.
 */
export function createMarketEntryApi(openGpu: () => Promise<Gpu | null>): MarketEntryApi {
  let gpu: Promise<Gpu | null> | null = null;
  const getGpu = () => (gpu ??= openGpu().catch(() => null));

  return {
    async analyse(params) {
      const analysis = analyse(params);
      return { analysis, summary: summarise(analysis), nu: nu(params.gamma, params.delta) };
    },

    async monteCarlo({ model, P, seeds, tauRel }) {
      const g = await getGpu();
      const device = g ? `WebGPU: ${g.adapter.vendor} ${g.adapter.architecture}`.trim() : 'no WebGPU: float64 CPU reference';
      const runner = gpuRunner(g);
      const m = { gamma: model.gamma, delta: model.delta, rho: model.rho };
      const grid = await validateGrid({ ...m, P, Ns: [2 * P, 4 * P], lambdas: [1e-3, 1e-2, 1e-1], alphas: [1, 0.9, 0.7, 0.5], seeds, seed: 1 }, runner);
      const spec = buildSpectrum({ ...m, P });
      const tau = tauRel * safetyLossOfPerformanceTarget(spec);
      const Ns = [16, 32, 64, 128, 256, 512, 1024].filter((n) => n >= P / 2 && n <= 8 * P);
      const points = await mcOnOptimalCurve(m, P, tau, Ns, seeds, runner);
      const curve = lossCurve(spec, tau, logGrid(Math.log10(8), Math.log10(8 * P), 24));
      return {
        device,
        grid,
        points,
        curve,
        maxRelErr: grid.length ? maxRelErr(grid) : NaN,
        curveRelErr: points.length ? maxRelErr(points) : NaN,
      };
    },
  };
}
