// `latentlab market-entry`: the multi-objective scaling regimes and market-entry slopes for one setting, plus a GPU
// Monte Carlo check of the closed form (src/methods/market-entry/method.ts). This file only turns flags into the
// method's requests and its results into the CLI's JSON.
//   --gamma G --delta D --rho R   model (defaults 0.5, 1.0, 0.5)
//   --tau-i T --tau-e T           thresholds as fractions of L₂(β₁) (defaults 0.9999, 0.999999999; tau-e may be "inf")
//   --n-i N                       incumbent's dataset size for the headline N_E* (default 1e7)
//   --p P                         closed-form dimension (default "inf")
//   --seeds S                     Monte Carlo designs per N (default 32); --no-mc skips the Monte Carlo

import type { Gpu } from '../gpu/device';
import marketEntry from '../methods/market-entry/method';
import { DEFAULTS, type MarketParams } from '../methods/market-entry/params';
import { nodeContext } from './method-context';

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
  const ctx = nodeContext({ loaded: null, modelDir: null, gpu });
  const { summary } = await marketEntry.calls.analyse(ctx, params);
  const skipMc = args['no-mc'] === true || args.mc === false || args.mc === 'false';
  let mc: { max_rel_err: number; rows: number; worst: object; P: number; seeds: number; device: string } | null = null;
  if (!skipMc) {
    const c = await marketEntry.calls.check(ctx, { gamma: params.gamma, delta: params.delta, rho: params.rho, seeds: num(args, ['seeds'], 32) });
    mc = { max_rel_err: c.maxRelErr, rows: c.rows.length, worst: c.worst, P: c.P, seeds: c.seeds, device: c.device };
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
