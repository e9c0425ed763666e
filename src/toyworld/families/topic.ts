// Topic naming (toy world v2): "what do these texts have in common ?" → the one judgement category (the predicate
// "mentions a <category>") that every text satisfies. The judgement family's yes/no questions validate it.
// Texts are two short sentences, each about one category, so that exactly one category is shared by all three.
import { Rng } from '../../common/rng';
import { ANIMALS, CITIES, COUNTRY_NAMES, FOODS, OCCUPATIONS, FIRST_NAMES } from '../lexicon';
import { Doc, EvalItem, BOS, EOS } from '../types';
import { CATEGORIES, Category, mentions } from './judgement';

const CATS = Object.keys(CATEGORIES) as Category[];

/** One sentence mentioning a word of its category and of no other. */
export function categorySentence(rng: Rng, c: Category): string {
  switch (c) {
    case 'animal': return rng.pick([`The ${rng.pick(ANIMALS)} sleeps .`, `A ${rng.pick(ANIMALS)} runs in the garden .`]);
    case 'city': return rng.pick([`It rains in ${rng.pick(CITIES)} .`, `The streets of ${rng.pick(CITIES)} are busy .`]);
    case 'country': return rng.pick([`${rng.pick(COUNTRY_NAMES)} is large .`, `The hills of ${rng.pick(COUNTRY_NAMES)} are green .`]);
    case 'food': return rng.pick([`The ${rng.pick(FOODS)} was fresh .`, `We ate ${rng.pick(FOODS)} .`]);
    case 'job': return rng.pick([`A ${rng.pick(OCCUPATIONS)} came by .`, `The ${rng.pick(OCCUPATIONS)} was late .`]);
    case 'person': return rng.pick([`${rng.pick(FIRST_NAMES)} smiled .`, `${rng.pick(FIRST_NAMES)} waved at us .`]);
    case 'number': return rng.pick([`There were ${rng.int(0, 199)} chairs .`, `The bus came at ${rng.int(1, 12)} .`]);
  }
}

/** 3 texts sharing exactly one category: each is a sentence of it plus one of another (not all the same other). */
export function topicSet(rng: Rng): { texts: string[]; category: Category } {
  const category = rng.pick(CATS);
  const rest = CATS.filter((c) => c !== category);
  let others = [rng.pick(rest), rng.pick(rest), rng.pick(rest)];
  if (others[0] === others[1] && others[1] === others[2]) others = [others[0], rng.pick(rest.filter((c) => c !== others[0])), others[2]];
  const texts = others.map((o) => rng.shuffle([categorySentence(rng, category), categorySentence(rng, o)]).join(' '));
  return { texts, category };
}

/** Ground truth check shared by the tests: the categories every text mentions. */
export function sharedCategories(texts: string[]): Category[] {
  return CATS.filter((c) => texts.every((t) => mentions(t, c)));
}

const prompt = (texts: string[]) => `${BOS} ${texts.map((t) => `Text : ${t}`).join(' ')} Question : What do these texts have in common ? Answer :`;

/** Answer: the category word (the predicate "they mention a <category>"). */
export function topicDoc(rng: Rng): Doc {
  const s = topicSet(rng);
  return { family: 'topic', parts: [{ text: prompt(s.texts) }, { text: s.category, answer: true }, { text: `. ${EOS}` }] };
}

export function topicEvalItem(rng: Rng): EvalItem {
  const s = topicSet(rng);
  return { family: 'topic', prompt: prompt(s.texts), check: { type: 'next', answer: s.category }, meta: { texts: s.texts } };
}
