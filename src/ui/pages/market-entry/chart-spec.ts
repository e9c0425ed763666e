// Plain-data description of one log–log (or semi-log) chart, and helpers that build aligned series for uPlot.

export interface SeriesSpec {
  label: string;
  y: (number | null)[];
  color: string;
  width?: number;
  dash?: number[];
  /** markers only, no line */
  pointsOnly?: boolean;
}

export interface ChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  x: number[];
  series: SeriesSpec[];
  logX: boolean;
  logY: boolean;
  /** x-ranges to shade (regime windows) */
  bands?: { lo: number; hi: number }[];
}

export const COLORS = { incumbent: '#1f5fbf', entrant: '#c0392b', theory: '#2e8b57', guide: '#7f8c8d', mc: '#e67e22', extra: '#8e44ad' };

const ok = (v: number) => Number.isFinite(v);

/** Union of several curves' x values (ascending) with each curve's y placed at its own x, null elsewhere. */
export function align(curves: { x: number[]; y: number[] }[]): { x: number[]; ys: (number | null)[][] } {
  const xs = [...new Set(curves.flatMap((c) => c.x.filter(ok)))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const ys = curves.map((c) => {
    const y: (number | null)[] = new Array(xs.length).fill(null);
    c.x.forEach((x, i) => {
      if (ok(x) && ok(c.y[i])) y[index.get(x)!] = c.y[i];
    });
    return y;
  });
  return { x: xs, ys };
}

/**
 * A theory guide: the power law y = y0 (x/x0)^slope drawn over [lo, hi] only (null elsewhere), anchored at the
 * curve's value at the window's geometric centre so that its slope can be compared with the curve by eye.
 */
export function guide(x: number[], curve: (number | null)[], lo: number, hi: number, slope: number): (number | null)[] {
  const xc = Math.sqrt(lo * hi);
  let k = -1;
  for (let i = 0; i < x.length; i++) if (curve[i] != null && (k < 0 || Math.abs(Math.log(x[i] / xc)) < Math.abs(Math.log(x[k] / xc)))) k = i;
  if (k < 0) return x.map(() => null);
  const x0 = x[k];
  const y0 = curve[k]!;
  return x.map((v) => (v >= lo * 0.999 && v <= hi * 1.001 ? y0 * (v / x0) ** slope : null));
}

/** Constant line over the whole x range. */
export const hline = (x: number[], y: number): number[] => x.map(() => y);

/** Values only at the points nearest to the given x positions (markers for fitted window slopes). */
export function marks(x: number[], at: { x: number; y: number }[]): (number | null)[] {
  const y: (number | null)[] = x.map(() => null);
  for (const p of at) {
    if (!ok(p.x) || !ok(p.y)) continue;
    let k = 0;
    for (let i = 1; i < x.length; i++) if (Math.abs(Math.log(x[i] / p.x)) < Math.abs(Math.log(x[k] / p.x))) k = i;
    y[k] = p.y;
  }
  return y;
}
