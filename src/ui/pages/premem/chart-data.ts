// The page's charts as plain data for uPlot's aligned layout: a scatter is one x column (every point, sorted) and one
// series per run that has a y only at its own points, plus the y = x line as a two-point series.
import type { Point } from '../../../methods/premem/metric';

export interface ScatterSeries {
  label: string;
  color: string;
  /** Points only (a run) or a line (y = x, a sweep's curve). */
  line: boolean;
  dashed?: boolean;
  y: (number | null)[];
}

export interface Scatter {
  x: number[];
  series: ScatterSeries[];
}

/** Distinct hues for up to a few dozen runs. */
export const runColor = (i: number, n: number): string => `hsl(${Math.round((360 * i) / Math.max(n, 1))}, 65%, 45%)`;

export function scatter(points: Point[], xOf: (p: Point) => number): Scatter {
  const runs = [...new Set(points.map((p) => p.run))];
  const order = points.map((p, i) => ({ x: xOf(p), i })).sort((a, b) => a.x - b.x);
  const x = order.map((o) => o.x);
  const series: ScatterSeries[] = runs.map((run, r) => ({
    label: run,
    color: runColor(r, runs.length),
    line: false,
    y: order.map((o) => (points[o.i].run === run ? points[o.i].test_accuracy : null)),
  }));
  // y = x across the plotted range
  const diag = x.map(() => null as number | null);
  if (x.length) {
    diag[0] = x[0];
    diag[x.length - 1] = x[x.length - 1];
  }
  series.push({ label: 'y = x', color: '#888', line: true, dashed: true, y: diag });
  return { x, series };
}
