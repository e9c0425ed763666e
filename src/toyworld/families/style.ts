// Response styles (toy world v2): the same answer rendered along three planted axes, a judge task ("which answer is
// more X ?") and a proposer task that names the difference.
import { Rng } from '../../common/rng';
import { COUNTRIES } from '../lexicon';
import { renderChat, END_TURN } from '../chat';
import { Doc, EvalItem, BOS, EOS } from '../types';

/** Each axis has two poles; a style picks one pole per axis. */
export const STYLE_AXES = [
  ['friendly', 'cold'],
  ['verbose', 'concise'],
  ['hedged', 'confident'],
] as const;
export type Pole = (typeof STYLE_AXES)[number][number];
export type Style = [Pole, Pole, Pole];

export function randomStyle(rng: Rng): Style {
  return STYLE_AXES.map((a) => rng.pick(a)) as Style;
}

/** A factual question with its plain answer clause (no final period). */
export function styleQuestion(rng: Rng): { question: string; fact: string } {
  const c = rng.pick(COUNTRIES);
  const city = rng.pick(c.cities);
  const a = rng.int(1, 9);
  const b = rng.int(1, 9);
  return rng.pick([
    { question: `Which country is ${city} in ?`, fact: `${city} is in ${c.name}` },
    { question: `What language do people speak in ${c.name} ?`, fact: `people in ${c.name} speak ${c.language}` },
    { question: `What is ${a} plus ${b} ?`, fact: `${a} plus ${b} is ${a + b}` },
  ]);
}

/** The answer in a style: the opener shows warmth, the clause certainty, the extra sentence length. */
export function styledAnswer(rng: Rng, fact: string, [warmth, length, certainty]: Style): string {
  const open = warmth === 'friendly' ? rng.pick(['Great question !', 'Happy to help !', 'Of course , my friend !']) : rng.pick(['Fine .', 'Noted .', 'Listen .']);
  const core = certainty === 'hedged' ? `I think ${fact} , but I am not sure .` : `${fact} , for sure .`;
  const extra = length === 'verbose'
    ? (warmth === 'friendly' ? 'I hope this helps you a lot and I am always glad to answer more questions .' : 'That is all there is to say about it and I will not say more about it .')
    : '';
  return [open, core, extra].filter((x) => x).join(' ');
}

const styleInstruction = (s: Style) => `Answer in a ${s[0]} , ${s[1]} and ${s[2]} way .`;

function pairText(a: string, b: string): string {
  return `Answer A : ${a} Answer B : ${b}`;
}

/** Two answers to one question whose styles differ on the axes in `differ` (A's pole drawn at random). */
function stylePair(rng: Rng, differ: number[]): { a: string; b: string; sa: Style; sb: Style } {
  const { fact } = styleQuestion(rng);
  const sa = randomStyle(rng);
  const sb = sa.map((p, i) => (differ.includes(i) ? STYLE_AXES[i].find((x) => x !== p)! : p)) as Style;
  return { a: styledAnswer(rng, fact, sa), b: styledAnswer(rng, fact, sb), sa, sb };
}

/** Judge item parts: the asked property lies on an axis where the two answers differ. */
function judge(rng: Rng): { prompt: string; answer: 'A' | 'B'; pole: Pole } {
  const differ = rng.sample([0, 1, 2], rng.int(1, 3));
  const { a, b, sa } = stylePair(rng, differ);
  const axis = rng.pick(differ);
  const pole = rng.pick(STYLE_AXES[axis]);
  return { prompt: `${BOS} ${pairText(a, b)} Question : Which answer is more ${pole} ? Answer :`, answer: sa[axis] === pole ? 'A' : 'B', pole };
}

/** Three kinds: a styled chat reply (the style set by the system prompt), a judge, a proposer. */
export function styleDoc(rng: Rng): Doc {
  const r = rng.next();
  if (r < 0.4) {
    const s = randomStyle(rng);
    const q = styleQuestion(rng);
    const prompt = renderChat([{ role: 'system', content: styleInstruction(s) }, { role: 'user', content: q.question }], true);
    return { family: 'style', parts: [{ text: prompt }, { text: `${styledAnswer(rng, q.fact, s)} ${END_TURN}`, answer: true }, { text: EOS }] };
  }
  if (r < 0.75) {
    const j = judge(rng);
    return { family: 'style', parts: [{ text: j.prompt }, { text: j.answer, answer: true }, { text: `. ${EOS}` }] };
  }
  // Proposer: exactly one axis differs, so the difference has one name (said as the property A has).
  const axis = rng.int(0, 2);
  const { a, b, sa } = stylePair(rng, [axis]);
  return {
    family: 'style',
    parts: [
      { text: `${BOS} ${pairText(a, b)} Question : How do the answers differ ? Answer :` },
      { text: `A is more ${sa[axis]}`, answer: true },
      { text: `. ${EOS}` },
    ],
  };
}

/** The judge task: next token A or B. */
export function styleEvalItem(rng: Rng): EvalItem {
  const j = judge(rng);
  return { family: 'style', prompt: j.prompt, check: { type: 'next', answer: j.answer }, meta: { pole: j.pole } };
}
