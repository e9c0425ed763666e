// The page's charts, built from one MarketAnalysis: curves, fitted local slopes, and the theorems' slopes beside them.

import type { MarketAnalysis } from '../../../methods/market-entry/method';
import { align, COLORS, guide, hline, marks, type ChartSpec } from './chart-spec';

const bandsOf = (ws: ({ lo: number; hi: number } | null)[]) =>
  ws.filter((w): w is { lo: number; hi: number } => !!w).map((w) => ({ lo: 10 ** w.lo, hi: 10 ** w.hi }));

export function lossChart(a: MarketAnalysis): ChartSpec {
  const inc = a.incumbent;
  const ent = a.entrant;
  const { x, ys } = align([
    { x: inc.curve.map((p) => p.N), y: inc.curve.map((p) => p.L1) },
    { x: ent.curve.map((p) => p.N), y: ent.curve.map((p) => p.L1) },
  ]);
  const bands = bandsOf(inc.windows);
  const guides = bands.map((b, i) => ({
    label: `theory slope ${inc.predicted[i] === 0 ? '0' : (-inc.predicted[i]).toPrecision(3)}`,
    y: guide(x, ys[0], b.lo, b.hi, -inc.predicted[i]),
    color: COLORS.theory,
    width: 3,
    dash: [6, 4],
  }));
  return {
    title: 'Optimised performance loss L₁ against dataset size N',
    xLabel: 'N',
    yLabel: 'L₁',
    x,
    logX: true,
    logY: true,
    bands,
    series: [
      { label: 'incumbent (τ_I)', y: ys[0], color: COLORS.incumbent },
      { label: 'entrant (τ_E)', y: ys[1], color: COLORS.entrant },
      { label: 'incumbent limit G_I', y: hline(x, inc.G), color: COLORS.guide, dash: [2, 4], width: 1 },
      ...guides,
    ],
  };
}

/** `v` is ν for the analysis' γ, δ (the worker's MarketResult.nu). */
export function exponentChart(a: MarketAnalysis, v: number): ChartSpec {
  const inc = a.incumbent;
  const x = inc.log10N.map((e) => 10 ** e);
  const centres = inc.windows.map((w, i) => ({ x: w ? 10 ** ((w.lo + w.hi) / 2) : NaN, y: inc.exponents[i] }));
  return {
    title: 'Local scaling exponent −d log L₁ / d log N (incumbent)',
    xLabel: 'N',
    yLabel: 'exponent',
    x,
    logX: true,
    logY: false,
    bands: bandsOf(inc.windows),
    series: [
      { label: 'local exponent', y: inc.localExponent, color: COLORS.incumbent },
      { label: 'fitted per regime', y: marks(x, centres), color: COLORS.mc, pointsOnly: true },
      { label: `ν = ${v.toPrecision(3)}`, y: hline(x, v), color: COLORS.theory, dash: [6, 4], width: 1 },
      { label: `ν/(ν+1) = ${(v / (v + 1)).toPrecision(3)}`, y: hline(x, v / (v + 1)), color: COLORS.theory, dash: [2, 3], width: 1 },
      { label: '0', y: hline(x, 0), color: COLORS.guide, width: 1 },
    ],
  };
}

export function entryChart(a: MarketAnalysis): ChartSpec {
  const e = a.entry;
  const x = e.log10NI.map((v) => 10 ** v);
  const bands = bandsOf(e.windows);
  const guides = bands.map((b, i) => ({
    label: `theory slope ${e.predicted[i] === 0 ? '0' : e.predicted[i].toPrecision(3)}`,
    y: guide(x, e.NE, b.lo, b.hi, e.predicted[i]),
    color: COLORS.theory,
    width: 3,
    dash: [6, 4],
  }));
  return {
    title: 'Entry threshold N_E* against the incumbent’s dataset size N_I',
    xLabel: 'N_I',
    yLabel: 'N_E*',
    x,
    logX: true,
    logY: true,
    bands,
    series: [
      { label: 'N_E*', y: e.NE, color: COLORS.entrant },
      { label: 'N_E* = N_I', y: x, color: COLORS.guide, dash: [2, 4], width: 1 },
      ...guides,
    ],
  };
}

export function entrySlopeChart(a: MarketAnalysis): ChartSpec {
  const e = a.entry;
  const x = e.log10NI.map((v) => 10 ** v);
  const centres = e.windows.map((w, i) => ({ x: w ? 10 ** ((w.lo + w.hi) / 2) : NaN, y: e.slopes[i] }));
  return {
    title: 'Local slope d log N_E* / d log N_I',
    xLabel: 'N_I',
    yLabel: 'slope',
    x,
    logX: true,
    logY: false,
    bands: bandsOf(e.windows),
    series: [
      { label: 'local slope', y: e.localSlope, color: COLORS.entrant },
      { label: 'fitted per regime', y: marks(x, centres), color: COLORS.mc, pointsOnly: true },
      ...e.predicted.map((p, i) => ({ label: ['1', '1/(ν+1)', '0'][i] + ` = ${p.toPrecision(3)}`, y: hline(x, p), color: COLORS.theory, dash: [6, 4], width: 1 })),
    ],
  };
}

export function choiceChart(a: MarketAnalysis): ChartSpec {
  const c = a.incumbent.curve;
  return {
    title: 'Incumbent’s optimal choices: safety-label share 1 − α* and ridge penalty λ*',
    xLabel: 'N',
    yLabel: '1 − α*, λ*',
    x: c.map((p) => p.N),
    logX: true,
    logY: true,
    bands: bandsOf(a.incumbent.windows),
    series: [
      { label: '1 − α*', y: c.map((p) => 1 - p.alpha), color: COLORS.incumbent },
      { label: 'λ*', y: c.map((p) => p.lambda), color: COLORS.extra },
    ],
  };
}

export function gapChart(a: MarketAnalysis): ChartSpec {
  const GI = a.incumbent.G;
  const t1 = a.thm1;
  const t5 = a.thm5;
  const { x, ys } = align([
    { x: t1.log10Gap.map((g) => 10 ** g), y: t1.NE },
    { x: t5.log10Gap.map((g) => GI * 10 ** g), y: t5.NE },
  ]);
  const lo1 = 10 ** t1.log10Gap[0];
  const lo5 = GI * 10 ** t5.log10Gap[0];
  return {
    title: 'N_E* against an infinite-data incumbent, as the loss gap D = G_I − G_E closes',
    xLabel: 'D',
    yLabel: 'N_E*',
    x,
    logX: true,
    logY: true,
    series: [
      { label: 'unconstrained entrant, τ_I varied (Thm 1)', y: ys[0], color: COLORS.incumbent },
      { label: 'τ_E → τ_I at fixed τ_I (Thm 5)', y: ys[1], color: COLORS.entrant },
      { label: `theory slope −1/ν = −${t1.predicted.toPrecision(3)}`, y: guide(x, ys[0], lo1, lo1 * 1e2, -t1.predicted), color: COLORS.theory, width: 3, dash: [6, 4] },
      { label: `theory slope −(ν+1)/ν = −${t5.predicted.toPrecision(3)}`, y: guide(x, ys[1], lo5, lo5 * 1e2, -t5.predicted), color: COLORS.theory, width: 3, dash: [2, 3] },
    ],
  };
}
