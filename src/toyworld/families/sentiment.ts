// Short reviews, positive or negative; negation ("was not great") flips a clause.
import { Rng } from '../../common/rng';
import { POSITIVE_WORDS, NEGATIVE_WORDS, REVIEW_THINGS, REVIEW_PLACES } from '../lexicon';
import { Doc, EvalItem, BOS, EOS } from '../types';

export type Polarity = 'positive' | 'negative';

export function review(rng: Rng, polarity: Polarity): string {
  const place = rng.pick(REVIEW_PLACES);
  const things = rng.sample(REVIEW_THINGS, rng.int(1, 3));
  const clauses = things.map((t, i) => {
    const negate = rng.chance(0.2);
    const pos = (polarity === 'positive') !== negate;
    const adj = rng.pick(pos ? POSITIVE_WORDS : NEGATIVE_WORDS);
    const subject = i === 0 ? `The ${t} at the ${place}` : `The ${t}`;
    return `${subject} was ${negate ? 'not ' : ''}${adj} .`;
  });
  return clauses.join(' ');
}

export function sentimentDoc(rng: Rng): Doc {
  const pol: Polarity = rng.chance(0.5) ? 'positive' : 'negative';
  return {
    family: 'sentiment',
    parts: [{ text: `${BOS} Review : ${review(rng, pol)} Sentiment :` }, { text: pol, answer: true }, { text: `. ${EOS}` }],
  };
}

export function sentimentEvalItem(rng: Rng): EvalItem {
  const pol: Polarity = rng.chance(0.5) ? 'positive' : 'negative';
  return { family: 'sentiment', prompt: `${BOS} Review : ${review(rng, pol)} Sentiment :`, check: { type: 'next', answer: pol } };
}
