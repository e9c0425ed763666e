// Letter-level text and a substitution cipher (toy world v2). Letters a–z and `|` (the word separator) are tokens, so
// words can be spelled, joined, enciphered and deciphered; the four staged tasks share one fixed key.
import { Rng } from '../../common/rng';
import { OCCUPATIONS, FOODS, ANIMALS } from '../lexicon';
import { Doc, EvalItem, BOS, EOS } from '../types';

export const LETTERS: readonly string[] = 'abcdefghijklmnopqrstuvwxyz'.split('');
/** The cipher key: a fixed permutation of the alphabet (seeded, so it is the same everywhere). */
export const CIPHER_KEY: Readonly<Record<string, string>> = (() => {
  const perm = new Rng(20261203).shuffle(LETTERS);
  return Object.fromEntries(LETTERS.map((l, i) => [l, perm[i]]));
})();
const DECIPHER: Record<string, string> = Object.fromEntries(Object.entries(CIPHER_KEY).map(([a, b]) => [b, a]));
/** Plain words the tasks spell: the lower-case lexicon words. */
export const CIPHER_WORDS: readonly string[] = [...OCCUPATIONS, ...FOODS, ...ANIMALS];

export const spell = (word: string): string => word.split('').join(' ');
export const encipher = (word: string): string => word.split('').map((l) => CIPHER_KEY[l]).join(' ');
export const decipher = (letters: string): string => letters.split(' ').map((l) => DECIPHER[l]).join('');
const spellAll = (ws: string[], f: (w: string) => string) => ws.map(f).join(' | ');

export type CipherTask = 'spell' | 'join' | 'encode' | 'decode';
export const CIPHER_TASKS: readonly CipherTask[] = ['spell', 'join', 'encode', 'decode'];

/** Prompt and answer of one task on 1–3 words. */
export function cipherTask(rng: Rng, task: CipherTask): { prompt: string; answer: string } {
  const ws = rng.sample(CIPHER_WORDS, rng.int(1, 3));
  const plain = ws.join(' ');
  if (task === 'spell') return { prompt: `Spell : ${plain} =`, answer: spellAll(ws, spell) };
  if (task === 'join') return { prompt: `Join : ${spellAll(ws, spell)} =`, answer: plain };
  if (task === 'encode') return { prompt: `Encode : ${spellAll(ws, spell)} =`, answer: spellAll(ws, encipher) };
  return { prompt: `Decode : ${spellAll(ws, encipher)} =`, answer: spellAll(ws, spell) };
}

export function cipherDoc(rng: Rng): Doc {
  const t = cipherTask(rng, rng.pick(CIPHER_TASKS));
  return { family: 'cipher', parts: [{ text: `${BOS} ${t.prompt}` }, { text: `${t.answer} .`, answer: true }, { text: EOS }] };
}

/** Greedy generation must reproduce the answer's letters exactly (default task: decode). */
export function cipherEvalItem(rng: Rng, task: CipherTask = 'decode'): EvalItem {
  const t = cipherTask(rng, task);
  const answer = t.answer.split(' ');
  return {
    family: 'cipher',
    prompt: `${BOS} ${t.prompt}`,
    check: { type: 'generate', maxNew: answer.length + 2, stop: ['.'], equals: answer },
    meta: { task },
  };
}
