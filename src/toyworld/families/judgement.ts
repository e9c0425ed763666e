// Yes/no judgements about a given text ("Does this text mention an animal ?"); truth is read off the closed vocabulary.
import { Rng } from '../../common/rng';
import { ANIMALS, CITIES, COUNTRY_NAMES, FOODS, OCCUPATIONS, FIRST_NAMES, MAX_NUMBER } from '../lexicon';
import { Doc, EvalItem, BOS, EOS } from '../types';
import { bindingContext, TRAIN_STYLES } from './binding';
import { review } from './sentiment';
import { arithmeticProblem } from './arithmetic';
import { World, buildWorld } from '../world';
import { biography } from './implications';

export const CATEGORIES = {
  animal: { question: 'Does this text mention an animal ?', words: new Set<string>(ANIMALS) },
  city: { question: 'Does this text mention a city ?', words: new Set<string>(CITIES) },
  country: { question: 'Does this text mention a country ?', words: new Set<string>(COUNTRY_NAMES) },
  food: { question: 'Does this text mention a food ?', words: new Set<string>(FOODS) },
  job: { question: 'Does this text mention a job ?', words: new Set<string>(OCCUPATIONS) },
  person: { question: 'Does this text mention a person ?', words: new Set<string>(FIRST_NAMES) },
  number: {
    question: 'Does this text mention a number ?',
    words: new Set<string>(Array.from({ length: MAX_NUMBER + 1 }, (_, i) => String(i))),
  },
} as const;
export type Category = keyof typeof CATEGORIES;

/** Ground truth: does any word of the text belong to the category? */
export function mentions(text: string, c: Category): boolean {
  return text.split(' ').some((w) => CATEGORIES[c].words.has(w));
}

/** A short text drawn from the other families' sentence makers. */
export function judgedText(rng: Rng, world: World): string {
  const r = rng.int(0, 3);
  if (r === 0) return bindingContext(rng, rng.int(1, 2), rng.int(1, 2), rng.pick(TRAIN_STYLES)).text;
  if (r === 1) return review(rng, rng.chance(0.5) ? 'positive' : 'negative');
  if (r === 2) return arithmeticProblem(rng, 1).question;
  return biography(rng.pick(world.people), rng);
}

/** Balanced yes/no: draw the wanted answer first, then texts until one matches (a few tries). */
function judgement(rng: Rng, world: World): { text: string; category: Category; answer: 'yes' | 'no' } {
  const category = rng.pick(Object.keys(CATEGORIES) as Category[]);
  const want = rng.chance(0.5);
  let text = judgedText(rng, world);
  for (let i = 0; i < 20 && mentions(text, category) !== want; i++) text = judgedText(rng, world);
  return { text, category, answer: mentions(text, category) ? 'yes' : 'no' };
}

export function judgementDoc(rng: Rng, world: World = buildWorld()): Doc {
  const j = judgement(rng, world);
  return {
    family: 'judgement',
    parts: [
      { text: `${BOS} Text : ${j.text} Question : ${CATEGORIES[j.category].question} Answer :` },
      { text: j.answer, answer: true },
      { text: `. ${EOS}` },
    ],
  };
}

export function judgementEvalItem(rng: Rng, world: World = buildWorld()): EvalItem {
  const j = judgement(rng, world);
  return {
    family: 'judgement',
    prompt: `${BOS} Text : ${j.text} Question : ${CATEGORIES[j.category].question} Answer :`,
    check: { type: 'next', answer: j.answer },
    meta: { category: j.category },
  };
}
