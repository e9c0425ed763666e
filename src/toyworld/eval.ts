// Scoring held-out items against any model that can give next-token logits and greedy continuations.
import { Check, EvalItem } from './types';
import { WordTokenizer } from './tokenizer';
import { EvalFamily, EvalOptions, generateEvalItems } from './generate';
import { World, buildWorld } from './world';

/** What evaluation needs from a model; the LatentLab engine (or a test double) implements it. Ids include "<bos>". */
export interface Scorer {
  nextTokenLogits(ids: number[]): Promise<Float32Array>;
  /** Greedy continuation of at most maxNew tokens; stops after emitting any id in `stop` (which may be included). */
  greedy(ids: number[], maxNew: number, stop: number[]): Promise<number[]>;
}

export function argmax(xs: Float32Array): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[best]) best = i;
  return best;
}

/** Applies a check to generated words (already cut at the first stop word). */
export function checkGeneration(check: Extract<Check, { type: 'generate' }>, gen: string[]): boolean {
  if (check.firstIs !== undefined && gen[0] !== check.firstIs) return false;
  if (check.firstIsNot !== undefined && (gen.length === 0 || gen[0] === check.firstIsNot)) return false;
  if (check.equals && (gen.length !== check.equals.length || gen.some((w, i) => w !== check.equals![i]))) return false;
  if (check.containsAny && !gen.some((w) => check.containsAny!.includes(w))) return false;
  if (check.answerAfter) {
    const { after, answer } = check.answerAfter;
    const at = gen.findIndex((_, i) => after.every((w, j) => gen[i + j] === w));
    if (at < 0 || gen[at + after.length] !== answer) return false;
  }
  return true;
}

export interface ItemResult {
  correct: boolean;
  /** The predicted word (next) or the generated words (generate). */
  output: string;
}

export async function scoreItem(item: EvalItem, tok: WordTokenizer, scorer: Scorer): Promise<ItemResult> {
  const ids = tok.encode(item.prompt);
  const c = item.check;
  if (c.type === 'next') {
    const pred = tok.vocab[argmax(await scorer.nextTokenLogits(ids))];
    return { correct: pred === c.answer, output: pred };
  }
  const stopIds = c.stop.map((s) => tok.id(s));
  const out = await scorer.greedy(ids, c.maxNew, stopIds);
  const cut = out.findIndex((i) => stopIds.includes(i));
  const gen = (cut < 0 ? out : out.slice(0, cut)).map((i) => tok.vocab[i]);
  return { correct: checkGeneration(c, gen), output: gen.join(' ') };
}

export interface EvalReport {
  family: EvalFamily;
  n: number;
  seed: number;
  accuracy: number;
  /** Binomial standard error, sqrt(p(1-p)/n). */
  stderr: number;
}

export async function evaluateItems(items: EvalItem[], tok: WordTokenizer, scorer: Scorer): Promise<{ correct: number; results: ItemResult[] }> {
  const results: ItemResult[] = [];
  for (const it of items) results.push(await scoreItem(it, tok, scorer));
  return { correct: results.filter((r) => r.correct).length, results };
}

export async function evaluateFamily(
  family: EvalFamily, n: number, seed: number, tok: WordTokenizer, scorer: Scorer,
  world: World = buildWorld(), opts: EvalOptions = {},
): Promise<EvalReport> {
  const items = generateEvalItems(family, n, seed, world, opts);
  const { correct } = await evaluateItems(items, tok, scorer);
  const accuracy = n > 0 ? correct / n : 0;
  return { family, n, seed, accuracy, stderr: Math.sqrt((accuracy * (1 - accuracy)) / Math.max(1, n)) };
}
