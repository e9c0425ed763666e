// Exact match and Jaccard similarity between proposition sets (the paper's metrics), and their means over items.
import { propKey } from './composition';
import type { Prop } from './types';

export function exactMatch(pred: Prop[], truth: Prop[]): number {
  const a = new Set(pred.map(propKey));
  const b = new Set(truth.map(propKey));
  return a.size === b.size && [...a].every((x) => b.has(x)) ? 1 : 0;
}

export function jaccard(pred: Prop[], truth: Prop[]): number {
  const a = new Set(pred.map(propKey));
  const b = new Set(truth.map(propKey));
  const inter = [...a].filter((x) => b.has(x)).length;
  const union = new Set([...a, ...b]).size;
  return union === 0 ? 1 : inter / union;
}

export function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
}
