// Knowledge with implications: person → city → country → language, landmark → city → country.
// Pretraining states a person's city either before its implications ('fact-first') or after them ('implications-first');
// 'held-out' people never appear in pretraining and can be taught later by fine-tuning on their city alone.
import { Rng } from '../../common/rng';
import { COUNTRIES } from '../lexicon';
import { World, Person, Landmark } from '../world';
import { Doc, EvalItem, Part, BOS, EOS } from '../types';

export type Hop = 'city' | 'country' | 'language' | 'occupation' | 'landmark-city' | 'landmark-country';

const Q: Record<Hop, string> = {
  city: 'Which city does {n} live in ?',
  country: 'Which country does {n} live in ?',
  language: 'Which language does {n} speak ?',
  occupation: 'What is the job of {n} ?',
  'landmark-city': 'Which city is {n} in ?',
  'landmark-country': 'Which country is {n} in ?',
};

export function knowledgeQuestion(subject: string, hop: Hop): string {
  return `Question : ${Q[hop].replace('{n}', subject)} Answer :`;
}

export function personAnswer(p: Person, hop: Hop): string {
  return hop === 'city' ? p.city : hop === 'country' ? p.country : hop === 'language' ? p.language : p.occupation;
}

/** The fact alone, as used to fine-tune held-out people. */
export function factSentence(p: Person): string {
  return `${p.name} lives in ${p.city} .`;
}

/** A pretraining biography in the person's group order. */
export function biography(p: Person, rng: Rng): string {
  const fact = factSentence(p);
  const job = `${p.name} ${rng.pick(['is a', 'works as a'])} ${p.occupation} .`;
  if (p.group === 'fact-first') return `${fact} So ${p.name} lives in ${p.country} and speaks ${p.language} . ${job}`;
  return `${p.name} speaks ${p.language} and lives in ${p.country} . ${job} This is because ${fact}`;
}

function geographySentence(rng: Rng): string {
  const c = rng.pick(COUNTRIES);
  const city = rng.pick(c.cities);
  return rng.pick([
    `${city} is a city in ${c.name} .`,
    `People in ${c.name} speak ${c.language} .`,
    `${city} is in ${c.name} , where people speak ${c.language} .`,
  ]);
}

const landmarkSentence = (l: Landmark) => `${l.name} is in ${l.city} .`;

export function pretrainPeople(w: World): Person[] {
  return w.people.filter((p) => p.group !== 'held-out');
}

/** Pretraining document: a biography, geography or landmark text, optionally followed by questions. */
export function implicationsDoc(rng: Rng, w: World): Doc {
  const parts: Part[] = [];
  const r = rng.next();
  if (r < 0.7) {
    const p = rng.pick(pretrainPeople(w));
    parts.push({ text: `${BOS} ${biography(p, rng)}` });
    for (const hop of rng.sample(['city', 'country', 'language', 'occupation'] as Hop[], rng.int(1, 2))) {
      parts.push({ text: knowledgeQuestion(p.name, hop) }, { text: personAnswer(p, hop), answer: true }, { text: '.' });
    }
  } else if (r < 0.85) {
    const l = rng.pick(w.landmarks);
    parts.push({ text: `${BOS} ${landmarkSentence(l)} ${geographySentence(rng)}` });
    const hop: Hop = rng.pick(['landmark-city', 'landmark-country']);
    parts.push({ text: knowledgeQuestion(l.name, hop) }, { text: hop === 'landmark-city' ? l.city : l.country, answer: true }, { text: '.' });
  } else {
    parts.push({ text: `${BOS} ${geographySentence(rng)} ${geographySentence(rng)}` });
  }
  parts.push({ text: EOS });
  return { family: 'implications', parts };
}

/** Fine-tuning documents that teach held-out people's facts (city only; implications must be inferred). */
export function finetuneDocs(w: World): Doc[] {
  return w.people
    .filter((p) => p.group === 'held-out')
    .map((p) => ({ family: 'implications-finetune', parts: [{ text: `${BOS} ${factSentence(p)} ${EOS}` }] }));
}

export type ImplicationsSet = 'seen' | 'held-out';

/**
 * Two-hop questions: person → country (via city), person → language (via country), landmark → country (via city).
 * 'seen' uses people from pretraining; 'held-out' the fine-tuning people (meaningful only after fine-tuning).
 */
export function implicationsEvalItem(rng: Rng, w: World, set: ImplicationsSet = 'seen'): EvalItem {
  const people = set === 'seen' ? pretrainPeople(w) : w.people.filter((p) => p.group === 'held-out');
  if (set === 'seen' && rng.chance(0.15)) {
    const l = rng.pick(w.landmarks);
    return {
      family: 'implications',
      prompt: `${BOS} ${knowledgeQuestion(l.name, 'landmark-country')}`,
      check: { type: 'next', answer: l.country },
      meta: { subject: l.name, hop: 'landmark-country', via: l.city },
    };
  }
  const p = rng.pick(people);
  const hop: Hop = rng.pick(['country', 'language']);
  return {
    family: 'implications',
    prompt: `${BOS} ${knowledgeQuestion(p.name, hop)}`,
    check: { type: 'next', answer: personAnswer(p, hop) },
    meta: { subject: p.name, hop, via: p.city, group: p.group },
  };
}
