// The example inputs the Explore page offers, chosen for the loaded model: the first candidate of each list whose
// text the model's tokenizer encodes and decodes back unchanged (no word falls to an unknown token), whose patching
// prompts have the same length in tokens and whose answers are one token each. Generic English first (Hub models),
// then the toy world's own sentences (public/models/toy-*: reviews and their sentiment, a vocabulary without "capital").
import type { Tokenizer } from '../../engine/tokenizer';

export interface PatchingExample {
  clean: string;
  corrupt: string;
  answer: string;
  wrong: string;
}

export interface SteeringExample {
  positive: string[];
  negative: string[];
  prompt: string;
}

export interface ExploreExamples {
  /** null where no candidate is in the model's vocabulary (or the model has no tokenizer). */
  prompt: string | null;
  patching: PatchingExample | null;
  steering: SteeringExample | null;
}

export const PROMPTS = ['Paris is in', 'Alice lives in'];

export const PATCHING: PatchingExample[] = [
  { clean: 'The capital of France is', corrupt: 'The capital of Italy is', answer: 'Paris', wrong: 'Rome' },
  { clean: 'Review : The food at the cafe was tasty . Sentiment :', corrupt: 'Review : The food at the cafe was awful . Sentiment :', answer: 'positive', wrong: 'negative' },
  { clean: 'Paris is the capital of France', corrupt: 'Rome is the capital of France', answer: 'Paris', wrong: 'Rome' },
];

export const STEERING: SteeringExample[] = [
  { positive: ['good day', 'the sun is hot'], negative: ['bad night', 'the snow is cold'], prompt: 'the cat' },
  { positive: ['The food was tasty .', 'The soup was wonderful .'], negative: ['The food was awful .', 'The soup was terrible .'], prompt: 'Review : The cake at the bakery was' },
];

const norm = (s: string) => s.replace(/\s+/g, ' ').trim();

/** Token ids of `text` when every word of it is in the vocabulary (it decodes back to itself), else null. */
export function inVocabulary(tok: Tokenizer, text: string): number[] | null {
  let ids: number[];
  try {
    ids = tok.encode(text, { addSpecialTokens: false });
  } catch {
    return null; // a vocabulary without an unknown token refuses the word
  }
  return ids.length > 0 && norm(tok.decode(ids, { skipSpecialTokens: true })) === norm(text) ? ids : null;
}

const fits = (tok: Tokenizer, p: PatchingExample): boolean => {
  const [c, x, a, w] = [p.clean, p.corrupt, p.answer, p.wrong].map((t) => inVocabulary(tok, t));
  return !!(c && x && a && w) && c.length === x.length && a.length === 1 && w.length === 1 && a[0] !== w[0];
};

export function exploreExamples(tok: Tokenizer | null): ExploreExamples {
  if (!tok) return { prompt: null, patching: null, steering: null };
  return {
    prompt: PROMPTS.find((p) => inVocabulary(tok, p)) ?? null,
    patching: PATCHING.find((p) => fits(tok, p)) ?? null,
    steering: STEERING.find((s) => [...s.positive, ...s.negative, s.prompt].every((t) => inVocabulary(tok, t))) ?? null,
  };
}
