// Test doubles for toy-world evaluation: a scorer that answers each prompt from a function of its item (the
// generator's ground truth for an oracle, a wrong rule for a guesser).
import type { EvalItem, Scorer, WordTokenizer } from '../../src/toyworld/index';

export function scorerFor(tok: WordTokenizer, items: EvalItem[], answer: (it: EvalItem) => string[]): Scorer {
  const byPrompt = new Map(items.map((it) => [tok.encode(it.prompt).join(','), it]));
  const find = (ids: number[]) => byPrompt.get(ids.join(','))!;
  return {
    async nextTokenLogits(ids) {
      const logits = new Float32Array(tok.vocab.length);
      logits[tok.id(answer(find(ids))[0])] = 1;
      return logits;
    },
    async greedy(ids, maxNew, stop) {
      const out = answer(find(ids)).map((w) => tok.id(w)).slice(0, maxNew);
      return out.concat(stop.slice(0, 1));
    },
  };
}

/** The words a correct model would produce for an item. */
export function oracleAnswer(it: EvalItem): string[] {
  const c = it.check;
  if (c.type === 'next') return [c.answer];
  if (c.equals) return c.equals;
  if (c.answerAfter) return ['1', '+', '1', '=', '2', '.', ...c.answerAfter.after, c.answerAfter.answer, '.'];
  if (c.firstIsNot !== undefined) return ['It', 'is', '2', '.'];
  if (c.containsAny) return [c.firstIs!, '!', 'I', 'love', c.containsAny[0], '.'];
  return [c.firstIs!, ',', 'I', 'cannot', '.'];
}
