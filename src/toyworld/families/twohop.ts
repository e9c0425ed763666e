// Two hops (toy world v2).
// - Composed knowledge: a fifth of the pretraining people ('compose' people) are only ever stated with their city;
//   their country and language are never in training, so answering them needs person → city → country composed
//   inside the model, learned from the other people (whose biographies state the implications).
// - In-context two-hop lookup (the capability-gap family): person → animal and animal → food both stated in the
//   context; the question asks for the food of a person's animal.
import { Rng } from '../../common/rng';
import { FIRST_NAMES, ANIMALS, FOODS } from '../lexicon';
import { World, Person } from '../world';
import { Doc, EvalItem, Part, BOS, EOS } from '../types';
import { Hop, knowledgeQuestion, personAnswer, pretrainPeople, factSentence, implicationsDoc } from './implications';

/** Every fifth pretraining person (by world order): stated with the city only; tested on country and language. */
export function composePeople(w: World): Person[] {
  return pretrainPeople(w).filter((_, i) => i % 5 === 0);
}

/**
 * Implications v2: as v1, except that compose people get `<name> lives in <city> . <job sentence>` and questions
 * about their city and job only.
 */
export function implicationsDocV2(rng: Rng, w: World): Doc {
  const compose = composePeople(w);
  const doc = implicationsDoc(rng, w);
  const text = doc.parts[0].text;
  const p = compose.find((x) => text.startsWith(`${BOS} ${x.name} `)); // a biography starts with its person's name
  if (!p) return doc;
  const job = `${p.name} ${rng.pick(['is a', 'works as a'])} ${p.occupation} .`;
  const parts: Part[] = [{ text: `${BOS} ${factSentence(p)} ${job}` }];
  for (const hop of rng.sample(['city', 'occupation'] as Hop[], rng.int(1, 2))) {
    parts.push({ text: knowledgeQuestion(p.name, hop) }, { text: personAnswer(p, hop), answer: true }, { text: '.' });
  }
  parts.push({ text: EOS });
  return { family: 'implications', parts };
}

/** Country or language of a compose person: the two-hop composition never seen in training. */
export function composeEvalItem(rng: Rng, w: World): EvalItem {
  const p = rng.pick(composePeople(w));
  const hop: Hop = rng.pick(['country', 'language']);
  return {
    family: 'implications',
    prompt: `${BOS} ${knowledgeQuestion(p.name, hop)}`,
    check: { type: 'next', answer: personAnswer(p, hop) },
    meta: { subject: p.name, hop, via: p.city, group: 'compose' },
  };
}

/** 2–4 people each with a distinct animal, each animal with a distinct food; ask for the food of one person's animal. */
function lookup(rng: Rng): { context: string; question: string; answer: string; meta: Record<string, unknown> } {
  const k = rng.int(2, 4);
  const names = rng.sample(FIRST_NAMES, k);
  const animals = rng.sample(ANIMALS, k);
  const foods = rng.sample(FOODS, k);
  const owns = names.map((n, i) => `${n} has a ${animals[i]} .`);
  const eats = rng.shuffle(animals.map((a, i) => `The ${a} eats ${foods[i]} .`));
  const q = rng.int(0, k - 1);
  return {
    context: `${owns.join(' ')} ${eats.join(' ')}`,
    question: `Question : What does the animal of ${names[q]} eat ? Answer :`,
    answer: foods[q],
    meta: { names, animals, foods, queried: names[q] },
  };
}

export function twohopDoc(rng: Rng): Doc {
  const l = lookup(rng);
  return { family: 'twohop', parts: [{ text: `${BOS} ${l.context} ${l.question}` }, { text: l.answer, answer: true }, { text: `. ${EOS}` }] };
}

export function twohopEvalItem(rng: Rng): EvalItem {
  const l = lookup(rng);
  return { family: 'twohop', prompt: `${BOS} ${l.context} ${l.question}`, check: { type: 'next', answer: l.answer }, meta: l.meta };
}

