// The k most likely entries of one logits row, with probabilities from a softmax over the whole row (the worker's
// next-token table and the logit lens).

export interface Ranked {
  id: number;
  logit: number;
  prob: number;
}

/** A ranked token with its display text, as the page and the CLI show it. */
export interface TopToken extends Ranked {
  /** Display text of the token as it would continue the input. */
  text: string;
}

export function topK(row: ArrayLike<number>, k: number): Ranked[] {
  if (k <= 0 || row.length === 0) return [];
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i] > max) max = row[i];
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i] - max);
  // Keep a small sorted list instead of sorting the whole vocabulary (128k entries for Llama 3).
  const best: Ranked[] = [];
  for (let i = 0; i < row.length; i++) {
    const v = row[i];
    if (best.length === k && v <= best[k - 1].logit) continue;
    let j = best.length < k ? best.length : k - 1;
    while (j > 0 && best[j - 1].logit < v) j--;
    best.splice(j, 0, { id: i, logit: v, prob: 0 });
    if (best.length > k) best.pop();
  }
  for (const b of best) b.prob = Math.exp(b.logit - max) / sum;
  return best;
}
