// The page's one-paragraph reading of the result, written from the computed numbers.

import type { MarketAnalysis } from '../../../methods/market-entry/method';

const f = (x: number, d = 3) => (Number.isFinite(x) ? x.toPrecision(d) : String(x));
const e = (x: number) => (Number.isFinite(x) ? x.toExponential(1).replace('e+', 'e') : String(x));

/** `v` is ν = min(2(1+γ), δ+γ) for the analysis' γ, δ (the worker's MarketResult.nu). */
export function reading(a: MarketAnalysis, v: number): string {
  const p = a.market.params;
  const [l1, l2, l3] = a.incumbent.exponents;
  const [s1, s2, s3] = a.entry.slopes;
  const h = a.headline;
  if (!a.incumbent.windows.every(Boolean)) {
    const binds = Number.isFinite(a.incumbent.onset);
    return [
      `With γ = ${p.gamma} and δ = ${p.delta}, single-objective ridge scales as N^−ν with ν = ${f(v)}.`,
      binds
        ? `At these thresholds the three regimes are not all resolved: the incumbent's constraint starts to bind near N ≈ ${e(a.incumbent.onset)} and its loss reaches twice its limit near N ≈ ${e(a.incumbent.plateau)};`
        : `At these thresholds the incumbent's safety constraint never binds, so it behaves like a single-objective learner and an entrant gains nothing from its looser threshold;`,
      binds
        ? `A fitted regime needs room: regime 1 an onset above N = 10^2.5, regime 2 a plateau at least 10^2.5 times the onset, regime 3 a plateau below N = 10^26 (a smaller slack 1 − τ_I/L₂(β₁) moves both scales up).`
        : `Lower τ_I below L₂(β₁) to see the multi-objective regimes.`,
      `At N_I = ${e(h.NI)} the entrant needs N_E* ≈ ${e(h.NE)}.`,
    ].join(' ');
  }
  const parts = [
    `With γ = ${p.gamma} and δ = ${p.delta}, single-objective ridge scales as N^−ν with ν = min(2(1+γ), δ+γ) = ${f(v)}.`,
    `The incumbent's loss falls as N^−${f(l1)} until its safety constraint starts to bind near N ≈ ${e(a.incumbent.onset)};`,
    `from there it must mix in safety labels, which act as label noise, and the loss falls only as N^−${f(l2)} (theory ν/(ν+1) = ${f(v / (v + 1))}),`,
    `then flattens at its infinite-data limit ${e(a.incumbent.G)} (fitted exponent ${f(l3, 2)}, theory 0).`,
    `An entrant held to the looser threshold needs N_E* ∝ N_I^${f(s1)} while neither constraint binds, N_I^${f(s2)} once the incumbent is noise-limited (theory 1/(ν+1) = ${f(1 / (v + 1))}), and N_I^${f(s3, 2)} once it has plateaued:`,
    `at N_I = ${e(h.NI)} the entrant needs N_E* ≈ ${e(h.NE)} samples, ${f((100 * h.NE) / h.NI, 2)}% of the incumbent's data.`,
    `The safety constraint, not the data, is what bounds the incumbent's lead.`,
  ];
  return parts.join(' ');
}
