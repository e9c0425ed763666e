// Seeded activation-like matrices for the probe-fitting tests: class clusters with columns on different scales
// and offsets (so standardisation matters), as arrays of rows.
import { gaussian } from '../fixtures/tiny-models';

export function clusters(n: number, d: number, C: number, seed: number, spread = 1): { X: Float32Array[]; y: number[] } {
  const g = gaussian(seed);
  const centres = Array.from({ length: C }, () => Float64Array.from({ length: d }, () => 1.5 * g()));
  const colScale = Float64Array.from({ length: d }, (_, j) => 10 ** ((j % 3) - 1));
  const colShift = Float64Array.from({ length: d }, (_, j) => (j % 5) - 2);
  const y = Array.from({ length: n }, (_, i) => i % C);
  const X = y.map((c) => Float32Array.from({ length: d }, (_, j) => (centres[c][j] + spread * g()) * colScale[j] + colShift[j]));
  return { X, y };
}

/** Row-major copy of rows. */
export function flat(X: ArrayLike<number>[]): Float32Array {
  const d = X[0].length;
  const out = new Float32Array(X.length * d);
  X.forEach((r, i) => out.set(r, i * d));
  return out;
}
