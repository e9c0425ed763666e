// Every table the page shows or plots, as rows of plain values, and their export as CSV (state/exports: papaparse
// with formula escaping) or JSON.

import type { MarketAnalysis, ValidationRow } from '../../../methods/market-entry/method';

export type Row = Record<string, number | string | null>;

const REGIMES = ['1: before the constraint binds', '2: noise-limited', '3: plateau'];

export function analysisTables(a: MarketAnalysis): Record<string, Row[]> {
  const curve = (firm: string, s: MarketAnalysis['incumbent']) =>
    s.curve.map((p, i) => ({ firm, N: p.N, L1: p.L1, L2: p.L2, alpha: p.alpha, lambda: p.lambda, local_exponent: s.localExponent[i] }));
  const win = (w: { lo: number; hi: number } | null) => ({ window_N_lo: w ? 10 ** w.lo : null, window_N_hi: w ? 10 ** w.hi : null });
  return {
    loss_curves: [...curve('incumbent', a.incumbent), ...curve('entrant', a.entrant)],
    entry_threshold: a.entry.log10NI.map((e, i) => ({
      N_I: 10 ** e,
      incumbent_L1: a.entry.incumbentL1[i],
      N_E_star: a.entry.NE[i],
      local_slope: a.entry.localSlope[i],
    })),
    regimes: [
      ...a.incumbent.windows.map((w, i) => ({
        quantity: 'loss exponent −dlogL1/dlogN',
        regime: REGIMES[i],
        ...win(w),
        fitted: a.incumbent.exponents[i],
        predicted: a.incumbent.predicted[i],
        excess_loss_exponent: a.incumbent.excessExponents[i],
      })),
      ...a.entry.windows.map((w, i) => ({
        quantity: 'entry slope dlogN_E*/dlogN_I',
        regime: REGIMES[i],
        ...win(w),
        fitted: a.entry.slopes[i],
        predicted: a.entry.predicted[i],
        excess_loss_exponent: null,
      })),
    ],
    gap_unconstrained_entrant: a.thm1.log10Gap.map((g, i) => ({ D: 10 ** g, tau_I: a.thm1.tau[i], N_E_star: a.thm1.NE[i], local_c: a.thm1.localC[i] })),
    gap_converging_thresholds: a.thm5.log10Gap.map((g, i) => ({
      D: a.incumbent.G * 10 ** g,
      D_over_G_I: 10 ** g,
      tau_E: a.thm5.tau[i],
      N_E_star: a.thm5.NE[i],
      local_c: a.thm5.localC[i],
    })),
  };
}

export function validationTable(rows: ValidationRow[]): Row[] {
  return rows.map((r) => ({ ...r }));
}

export { toCsv } from '../../state/exports';
