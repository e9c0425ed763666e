// The whole experiment for one parameter setting: the incumbent's and entrant's scaling curves, N_E* against N_I,
// the two gap sweeps, and the summary the CLI prints (and the page shows as text).

import { entryThreshold } from './entry';
import { limitLoss, optimiseFirm } from './firm';
import { convergingThresholdSweep, notesFinalGapExponent, unconstrainedEntrantSweep, type GapSweep } from './gap';
import { nu, nuPrime } from './model';
import { resolveMarket, type MarketParams, type ResolvedMarket } from './params';
import { entryScaling, lossScaling, type EntryScaling, type LossScaling } from './regimes';

export interface MarketAnalysis {
  market: ResolvedMarket;
  incumbent: LossScaling;
  entrant: LossScaling;
  entry: EntryScaling;
  thm1: GapSweep;
  thm5: GapSweep;
  /** N_E* at the headline N_I */
  headline: { NI: number; NE: number; incumbentL1: number };
}

export function analyse(p: MarketParams): MarketAnalysis {
  const market = resolveMarket(p);
  const { spec, tauI, tauE } = market;
  const incumbent = lossScaling(spec, tauI);
  const entrant = lossScaling(spec, tauE);
  const entry = entryScaling(spec, tauI, tauE, incumbent);
  const thm1 = unconstrainedEntrantSweep(spec);
  const thm5 = convergingThresholdSweep(spec, tauI);
  const target = optimiseFirm(spec, p.NI, tauI).L1;
  const headline = { NI: p.NI, NE: entryThreshold(spec, target, tauE).NE, incumbentL1: target };
  return { market, incumbent, entrant, entry, thm1, thm5, headline };
}

const r4 = (x: number) => (Number.isFinite(x) ? Number(x.toPrecision(4)) : x);
const win = (w: { lo: number; hi: number } | null) => (w ? [r4(10 ** w.lo), r4(10 ** w.hi)] : null);

/** The CLI's JSON (without the Monte Carlo field, which needs a GPU). */
export function summarise(a: MarketAnalysis) {
  const { params } = a.market;
  const v = nu(params.gamma, params.delta);
  return {
    nu: r4(v),
    loss_exponents: a.incumbent.exponents.map(r4),
    entry_slopes: a.entry.slopes.map(r4),
    predicted: {
      loss_exponents: a.incumbent.predicted.map(r4),
      entry_slopes: a.entry.predicted.map(r4),
    },
    regime_windows_N: a.incumbent.windows.map(win),
    excess_loss_exponents: a.incumbent.excessExponents.map(r4),
    constraint_onset_N: r4(a.incumbent.onset),
    plateau_N: r4(a.incumbent.plateau),
    limit_loss: { incumbent: r4(a.incumbent.G), entrant: r4(limitLoss(a.market.spec, a.market.tauE).L1) },
    entry_threshold: { N_I: r4(a.headline.NI), N_E_star: r4(a.headline.NE), ratio: r4(a.headline.NE / a.headline.NI) },
    gap_exponents: {
      unconstrained_entrant: { fitted: r4(a.thm1.cSmallGap), predicted: r4(a.thm1.predicted) },
      converging_thresholds: { fitted: r4(a.thm5.cSmallGap), predicted: r4(a.thm5.predicted), notes_claim: r4(notesFinalGapExponent(a.market.spec)) },
    },
    nu_prime: r4(nuPrime(params.gamma, params.delta)),
    params: {
      gamma: params.gamma,
      delta: params.delta,
      rho: params.rho,
      P: Number.isFinite(params.P) ? params.P : 'Infinity',
      tau_I_over_L2_beta1: params.tauIRel,
      tau_E_over_L2_beta1: Number.isFinite(params.tauERel) ? params.tauERel : 'Infinity',
      tau_I: a.market.tauI,
      tau_E: Number.isFinite(a.market.tauE) ? a.market.tauE : 'Infinity',
      tau_scale_L2_of_beta1: r4(a.market.scale),
    },
  };
}
