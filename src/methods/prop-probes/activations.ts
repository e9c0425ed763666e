// Reading residual-stream rows through the engine's hooks, and unit-normalising them (the paper reads
// resid_pre and normalises each position's vector before probing and before binding affinities).
import type { ProbeBackend } from './types';

export const residPre = (layer: number) => `blocks.${layer}.hook_resid_pre`;

/** resid_pre at each layer asked for: one [T × d] array per layer, plus the last position's logits. */
export async function readResid(b: ProbeBackend, ids: number[], layers: number[]): Promise<{ acts: Map<number, Float32Array>; last: Float32Array }> {
  const uniq = [...new Set(layers)];
  const r = await b.forward(ids, uniq.map((l) => ({ name: residPre(l), op: 'read' as const })));
  return { acts: new Map(uniq.map((l) => [l, r.cache[residPre(l)]])), last: r.last };
}

/** Row t of a [T × d] array. */
export function row(a: Float32Array, t: number, d: number): Float32Array {
  return a.subarray(t * d, (t + 1) * d);
}

/** Each row divided by its Euclidean norm (zero rows stay zero). */
export function normalizeRows(a: Float32Array, d: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let t = 0; t * d < a.length; t++) {
    let s = 0;
    for (let i = 0; i < d; i++) s += a[t * d + i] ** 2;
    const n = Math.sqrt(s) || 1;
    for (let i = 0; i < d; i++) out[t * d + i] = a[t * d + i] / n;
  }
  return out;
}

export function argmax(xs: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[best]) best = i;
  return best;
}
