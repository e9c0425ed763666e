// Least-squares slopes on log–log data: local slopes along a curve and one slope per regime window.

/** Ordinary least-squares slope of y on x (NaN with fewer than two finite points). */
export function fitSlope(x: number[], y: number[]): number {
  let n = 0;
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i]) || !Number.isFinite(y[i])) continue;
    n++;
    sx += x[i];
    sy += y[i];
  }
  if (n < 2) return NaN;
  const mx = sx / n;
  const my = sy / n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i]) || !Number.isFinite(y[i])) continue;
    sxx += (x[i] - mx) ** 2;
    sxy += (x[i] - mx) * (y[i] - my);
  }
  return sxx > 0 ? sxy / sxx : NaN;
}

/** Slope of log10 y against log10 x over points whose log10 x lies in [lo, hi]. */
export function windowSlope(log10x: number[], log10y: number[], lo: number, hi: number): number {
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < log10x.length; i++) {
    if (log10x[i] >= lo - 1e-12 && log10x[i] <= hi + 1e-12) {
      xs.push(log10x[i]);
      ys.push(log10y[i]);
    }
  }
  return fitSlope(xs, ys);
}

/** Local slope at each point: least squares over the points within ±halfWidth (in log10 x) of it. */
export function localSlopes(log10x: number[], log10y: number[], halfWidth = 0.25): number[] {
  return log10x.map((c) => windowSlope(log10x, log10y, c - halfWidth, c + halfWidth));
}

export interface Window {
  /** log10 of the window's ends */
  lo: number;
  hi: number;
}
