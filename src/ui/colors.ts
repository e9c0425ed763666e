// Colour scales for heatmaps: sequential (white → blue) for probabilities and attention weights,
// diverging (red ← white → blue) for signed quantities like patching recovery.

const mix = (a: number[], b: number[], t: number) => a.map((x, i) => Math.round(x + (b[i] - x) * t));
const rgb = (c: number[]) => `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
const WHITE = [255, 255, 255];
const BLUE = [31, 95, 191];
const RED = [192, 57, 43];

/** t in [0, 1]. */
export function sequential(t: number): string {
  return rgb(mix(WHITE, BLUE, Math.min(1, Math.max(0, t))));
}

/** t in [-1, 1]: negative red, positive blue. */
export function diverging(t: number): string {
  const c = Math.min(1, Math.max(-1, t));
  return rgb(c >= 0 ? mix(WHITE, BLUE, c) : mix(WHITE, RED, -c));
}

/** Dark text on light cells, light text on dark ones. */
export function ink(t: number): string {
  return Math.abs(t) > 0.55 ? '#fff' : '#1d2127';
}
