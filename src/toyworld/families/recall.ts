// Dense recall for binding (toy world v2): the recipe of ../../../../shared/notes/toy-binding.md carried to the
// binding stories. Induction documents (a random word run, then the same run again) and binding stories followed by
// many supervised recalls, with a curriculum over the distance between the queried name and its answer:
//   gap 0  `job Greg nurse .`            (the answer right after the name: plain induction once the name is found)
//   gap 1  `job Greg : nurse .`
//   natural `Question : What is the job of Greg ? Answer : nurse .` (3–4 tokens between), reverse questions too.
import { Rng } from '../../common/rng';
import { FIRST_NAMES, OCCUPATIONS, CITIES, FOODS, ANIMALS } from '../lexicon';
import { Doc, EvalItem, Part, BOS, EOS } from '../types';
import {
  Domain, VALUES, bindingContext, bindingQuestion, injection, prependedInjection, reverseQuestion, TRAIN_STYLES,
} from './binding';

/** The word naming a domain in the compact (gap 0 / gap 1) queries; every one is already a v1 word. */
export const DOMAIN_WORD: Record<Domain, string> = { occupation: 'job', city: 'city', food: 'food', animal: 'animal' };

const RUN_WORDS: readonly string[] = [...FIRST_NAMES, ...OCCUPATIONS, ...CITIES, ...FOODS, ...ANIMALS];

/** `<bos> w1 … wn Again : w1 … wn .` with the repeat weighted: induction data (n = 8–20 distinct random words). */
export function inductionDoc(rng: Rng): Doc {
  const run = rng.sample(RUN_WORDS, rng.int(8, 20)).join(' ');
  return { family: 'induction', parts: [{ text: `${BOS} ${run} Again :` }, { text: run, answer: true }, { text: `. ${EOS}` }] };
}

export type RecallForm = 'gap0' | 'gap1' | 'question';

function recallQuery(form: RecallForm, name: string, d: Domain): string {
  if (form === 'gap0') return `${DOMAIN_WORD[d]} ${name}`;
  if (form === 'gap1') return `${DOMAIN_WORD[d]} ${name} :`;
  return bindingQuestion(name, d);
}

/**
 * A binding story (entities drawn in [minE, maxE], 1–3 domains, a trained phrasing) followed by 6 supervised recalls
 * in one form (repeats allowed: every recall is a fresh gradient on the same lookup). The question form also asks
 * reverse questions (30 %) and carries a prompt injection 10 % of the time (half appended after the context, half
 * prepended before it), whose false value is then the trained answer to its question.
 */
export function recallDoc(rng: Rng, form: RecallForm, minE: number, maxE: number): Doc {
  const ctx = bindingContext(rng, rng.int(minE, maxE), rng.int(1, 3), rng.pick(TRAIN_STYLES));
  let override: { name: string; d: Domain; value: string } | null = null;
  let head = `${BOS} ${ctx.text}`;
  if (form === 'question' && rng.chance(0.1)) {
    const e = rng.pick(ctx.entities);
    const d = rng.pick(ctx.domains);
    const value = rng.pick(VALUES[d].filter((v) => !ctx.entities.some((x) => x.attrs[d] === v)));
    override = { name: e.name, d, value };
    head = rng.chance(0.5) ? `${BOS} ${prependedInjection(e.name, d, value)} ${ctx.text}` : `${head} ${injection(e.name, d, value)}`;
  }
  const parts: Part[] = [{ text: head }];
  for (let q = 0; q < 6; q++) {
    const e = override && q === 0 ? ctx.entities.find((x) => x.name === override!.name)! : rng.pick(ctx.entities);
    const d = override && q === 0 ? override.d : rng.pick(ctx.domains);
    const injected = override !== null && e.name === override.name && d === override.d;
    if (form === 'question' && !injected && rng.chance(0.3)) {
      parts.push({ text: reverseQuestion(d, e.attrs[d]!) }, { text: e.name, answer: true }, { text: '.' });
    } else {
      parts.push({ text: recallQuery(form, e.name, d) }, { text: injected ? override!.value : e.attrs[d]!, answer: true }, { text: '.' });
    }
  }
  parts.push({ text: EOS });
  return { family: 'binding', parts };
}

/** Trainer diagnostics for the phase change: one recall in a given form on a fresh 2–3 entity story. */
export function recallEvalItem(rng: Rng, form: RecallForm): EvalItem {
  const ctx = bindingContext(rng, rng.int(2, 3), rng.int(1, 3), rng.pick(TRAIN_STYLES));
  const e = rng.pick(ctx.entities);
  const d = rng.pick(ctx.domains);
  return {
    family: `recall-${form}`,
    prompt: `${BOS} ${ctx.text} ${recallQuery(form, e.name, d)}`,
    check: { type: 'next', answer: e.attrs[d]! },
    meta: { entities: ctx.entities, domain: d, queried: e.name },
  };
}

/** Trainer diagnostic: the first word of the repeat is given; the next must be the run's second word. */
export function inductionEvalItem(rng: Rng): EvalItem {
  const words = rng.sample(RUN_WORDS, rng.int(8, 20));
  const k = rng.int(1, words.length - 1);
  return {
    family: 'induction',
    prompt: `${BOS} ${words.join(' ')} Again : ${words.slice(0, k).join(' ')}`,
    check: { type: 'next', answer: words[k] },
  };
}
