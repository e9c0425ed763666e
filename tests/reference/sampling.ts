// CPU reference for next-token choice: argmax (lowest index on ties) and the kept set of
// temperature / top-k / top-p sampling, with exact probabilities, to test the GPU sampler against.

export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

/** Probability of each token under the sampler's settings (0 outside the kept set). */
export function samplingDistribution(row: ArrayLike<number>, temperature: number, topK = 0, topP = 1): Float64Array {
  const order = Array.from({ length: row.length }, (_, i) => i).sort((a, b) => row[b] - row[a] || a - b);
  const k = topK > 0 ? Math.min(topK, order.length) : order.length;
  const kept = order.slice(0, k);
  const m = row[kept[0]];
  const w = kept.map((i) => Math.exp((row[i] - m) / temperature));
  const total = w.reduce((a, b) => a + b, 0);
  let n = 0;
  let cum = 0;
  while (n < kept.length) {
    cum += w[n] / total;
    n++;
    if (cum >= topP - 1e-12) break;
  }
  const mass = w.slice(0, n).reduce((a, b) => a + b, 0);
  const out = new Float64Array(row.length);
  for (let i = 0; i < n; i++) out[kept[i]] = w[i] / mass;
  return out;
}
