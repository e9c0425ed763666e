// Next-token choice from one row of logits: greedy, or temperature / top-k / top-p with a seeded generator.

export interface SamplingOptions {
  /** 0 = greedy. */
  temperature?: number;
  /** Keep the k most likely tokens (0 = all). */
  topK?: number;
  /** Keep the smallest set whose probability reaches p (1 = all). */
  topP?: number;
}

/** mulberry32: small, fast, and the same sequence in every JavaScript engine. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Index of the largest logit; the lowest index wins ties. */
export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

export function sample(row: ArrayLike<number>, o: SamplingOptions, random: () => number): number {
  const temperature = o.temperature ?? 0;
  if (temperature < 0) throw new Error(`temperature must be ≥ 0, got ${temperature}`);
  if (temperature === 0) return argmax(row);
  const topP = o.topP ?? 1;
  if (!(topP > 0 && topP <= 1)) throw new Error(`top_p must be in (0, 1], got ${topP}`);
  const order = Array.from({ length: row.length }, (_, i) => i).sort((a, b) => row[b] - row[a] || a - b);
  const k = o.topK && o.topK > 0 ? Math.min(o.topK, order.length) : order.length;
  const kept = order.slice(0, k);
  const m = row[kept[0]];
  const w = kept.map((i) => Math.exp((row[i] - m) / temperature));
  const total = w.reduce((a, b) => a + b, 0);
  let n = 0;
  let cum = 0;
  while (n < kept.length) {
    cum += w[n] / total;
    n++;
    if (cum >= topP) break;
  }
  const mass = w.slice(0, n).reduce((a, b) => a + b, 0);
  let u = random() * mass;
  for (let i = 0; i < n; i++) {
    u -= w[i];
    if (u < 0) return kept[i];
  }
  return kept[n - 1];
}
