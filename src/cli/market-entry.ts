// `latentlab market-entry`: the multi-objective scaling regimes and market-entry slopes for one setting, plus a GPU
// Monte Carlo check of the closed form. The argv parser and printer live in the CLI main; this returns the JSON.
//   --gamma G --delta D --rho R   model (defaults 0.5, 1.0, 0.5)
//   --tau-i T --tau-e T           thresholds as fractions of L₂(β₁) (defaults 0.9999, 0.999999999; tau-e may be "inf")
//   --n-i N                       incumbent's dataset size for the headline N_E* (default 1e7)
//   --p P                         closed-form dimension (default "inf")
//   --seeds S                     Monte Carlo designs per N (default 32); --no-mc skips the Monte Carlo

import type { Gpu } from '../gpu/device';
import { analyse, summarise } from '../methods/market-entry/analysis';
import { DEFAULTS, type MarketParams } from '../methods/market-entry/params';
import { defaultValidation, gpuRunner, maxRelErr, validateGrid } from '../methods/market-entry/validation';

type Args = Record<string, string | boolean>;

function pick(args: Args, names: string[]): string | boolean | undefined {
  for (const n of names) if (args[n] !== undefined) return args[n];
  return undefined;
}

function num(args: Args, names: string[], fallback: number): number {
  const v = pick(args, names);
  if (v === undefined) return fallback;
  if (typeof v === 'boolean') throw new RangeError(`market-entry: --${names[0]} needs a value`);
  const s = v.trim().toLowerCase();
  const x = s === 'inf' || s === 'infinity' ? Infinity : Number(s);
  if (Number.isNaN(x) || s === '') throw new RangeError(`market-entry: --${names[0]} = "${v}" is not a number`);
  return x;
}

export function parseMarketArgs(args: Args): MarketParams {
  return {
    gamma: num(args, ['gamma'], DEFAULTS.gamma),
    delta: num(args, ['delta'], DEFAULTS.delta),
    rho: num(args, ['rho'], DEFAULTS.rho),
    P: num(args, ['p', 'P'], DEFAULTS.P),
    tauIRel: num(args, ['tau-i', 'tauI', 'tau_i'], DEFAULTS.tauIRel),
    tauERel: num(args, ['tau-e', 'tauE', 'tau_e'], DEFAULTS.tauERel),
    NI: num(args, ['n-i', 'NI', 'n_i'], DEFAULTS.NI),
  };
}

export async function marketEntryCommand(args: Args, gpu: Gpu | null) {
  const params = parseMarketArgs(args);
  const summary = summarise(analyse(params));
  const skipMc = args['no-mc'] === true || args.mc === false || args.mc === 'false';
  let mc: { max_rel_err: number; rows: number; worst: object; P: number; seeds: number; device: string } | null = null;
  if (!skipMc) {
    const v = defaultValidation(params.gamma, params.delta, params.rho);
    v.seeds = num(args, ['seeds'], v.seeds);
    const rows = await validateGrid(v, gpuRunner(gpu));
    const worst = rows.reduce((a, b) => (b.relErr > a.relErr ? b : a));
    mc = {
      max_rel_err: maxRelErr(rows),
      rows: rows.length,
      worst,
      P: v.P,
      seeds: v.seeds,
      device: gpu ? 'webgpu' : 'cpu (float64 reference; no GPU given)',
    };
  }
  const { nu, loss_exponents, entry_slopes, ...rest } = summary;
  return {
    nu,
    loss_exponents,
    entry_slopes,
    mc_vs_closed_form_max_rel_err: mc ? Number(mc.max_rel_err.toPrecision(3)) : null,
    ...rest,
    monte_carlo: mc,
  };
}
