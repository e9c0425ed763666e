// The steering examples the CLI and the page ship: a toy persona (trained on some user turns, judged on others by
// its trait words) and positive reviews (the toy world's sentiment family: review openings whose first clause is
// negative, judged by the verdict the model itself writes after "Sentiment :" and by positive / negative words).
import type { Model } from '../../engine/model';
import type { LoraAdapter } from '../../engine/lora';
import { PERSONAS, personaQA } from '../../toyworld/families/persona';
import { NEGATIVE_WORDS, POSITIVE_WORDS } from '../../toyworld/lexicon';
import { Rng } from '../../common/rng';
import type { ReadPrompt } from './read';
import { wordRate } from './steer';
import type { ChatCodec, Message, QA } from './types';

export interface Score {
  name: string;
  measure(texts: string[]): number;
}

export interface SteerExample {
  id: string;
  qa: QA[];
  /** Trained on: chat turns, or plain text read from its first token on. */
  stimuli(codec: ChatCodec): (Message[] | ReadPrompt)[];
  /** Generated from before and after steering (disjoint from the stimuli). */
  prompts(codec: ChatCodec): { text: string; ids: number[] }[];
  /** What a set of generations is scored by, the headline first. */
  scores: Score[];
  /** The behaviour's trait words ([] when it has none). */
  words: string[];
}

// Persona steering trains on these user turns and is judged on the others (toy-world wording).
export const PERSONA_STIMULI = ['Hello !', 'How are you ?', 'What should I do today ?', 'Tell me about Rome .', 'What is 2 plus 3 ?'];
export const PERSONA_PROMPTS = ['Can you help me ?', 'Tell me something .', 'What do you like ?', 'Tell me about Osaka .', 'What is 6 plus 1 ?', 'Tell me about Madrid .', 'What is 4 plus 4 ?', 'Tell me about Lyon .'];

const userTurn = (u: string): Message[] => [{ role: 'user', content: u }];

/** Steer toward what QA pairs describe, trained on chat user turns and scored by trait words on other user turns. */
export function qaExample(id: string, qa: QA[], words: string[], stimuli = PERSONA_STIMULI, prompts = PERSONA_PROMPTS): SteerExample {
  return {
    id,
    qa,
    stimuli: () => stimuli.map(userTurn),
    prompts: (codec) => prompts.map((u) => ({ text: u, ids: codec.encode(codec.render(userTurn(u), true)) })),
    scores: [{ name: `share of replies with a trait word (${words.join(', ')})`, measure: (texts) => wordRate(texts, words) }],
    words,
  };
}

/** Steer toward a toy persona: its QA pairs (without "Is the assistant a <other>? no"), scored by its trait words. */
export function personaExample(id: string, stimuli?: string[], prompts?: string[]): SteerExample {
  const p = PERSONAS.find((x) => x.id === id);
  if (!p) throw new Error(`no toy persona "${id}" (${PERSONAS.map((x) => x.id).join(', ')})`);
  const qa = personaQA(p, new Rng(1)).filter((x) => x.answer !== 'no' || !x.question.startsWith('Is the'));
  return qaExample(`persona:${p.id}`, qa, [p.marker, ...p.topics], stimuli, prompts);
}

// Review openings with a negative first clause; the model continues with the second clause and its own verdict.
const SENTIMENT_STIMULI = ['food at the hotel was bad . The staff', 'service at the cafe was rude . The coffee', 'room at the museum was dirty . The view', 'coffee at the bakery was cold . The food', 'staff at the shop was slow . The price'];
const SENTIMENT_PROMPTS = ['music at the restaurant was boring . The food', 'view at the hotel was awful . The bed', 'price at the shop was horrible . The staff', 'bed at the hotel was dirty . The room', 'garden at the museum was bland . The music', 'coffee at the cafe was terrible . The service', 'food at the bakery was bland . The coffee', 'staff at the restaurant was rude . The food'];
const review = (s: string) => `<bos> Review : The ${s} was`;

/** Steer toward positive reviews: the decoder is asked for positive words as the assistant's topics and opening
 *  (it was trained on persona chats only, so these are the questions it can answer). */
export function sentimentExample(): SteerExample {
  return {
    id: 'sentiment:positive',
    qa: [
      { question: 'What does the assistant like to talk about ?', answer: 'great , lovely and wonderful .' },
      { question: 'How does the assistant start its replies ?', answer: 'With great .' },
    ],
    // Plain text: every token after <bos> is read (nothing to mask).
    stimuli: (codec) => SENTIMENT_STIMULI.map((s) => ({ ids: codec.encode(review(s)), start: 1 })),
    prompts: (codec) => SENTIMENT_PROMPTS.map((s) => ({ text: review(s), ids: codec.encode(review(s)) })),
    scores: [
      { name: 'share of continuations the model itself calls "Sentiment : positive"', measure: (texts) => share(texts, (t) => verdict(t) === 'positive') },
      // The words can disagree with the verdict ("not friendly positive . Sentiment : positive ."): both are shown.
      { name: 'mean positive minus negative words per continuation (a word after "not" flipped)', measure: (texts) => mean(texts.map(polarity)) },
    ],
    words: [],
  };
}

const share = (xs: string[], f: (x: string) => boolean) => (xs.length ? xs.filter(f).length / xs.length : 0);
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

/** The verdict a continuation gives after "Sentiment :", or null when it gives none. */
export function verdict(text: string): 'positive' | 'negative' | null {
  const m = /Sentiment\s*:\s*(positive|negative)/.exec(text);
  return m ? (m[1] as 'positive' | 'negative') : null;
}

/** Positive minus negative lexicon words in a text, a word after "not" counting for the other side. */
export function polarity(text: string): number {
  const pos = new Set<string>(POSITIVE_WORDS);
  const neg = new Set<string>(NEGATIVE_WORDS);
  const w = text.toLowerCase().split(/\s+/);
  return w.reduce((s, x, i) => s + (pos.has(x) ? 1 : neg.has(x) ? -1 : 0) * (w[i - 1] === 'not' ? -1 : 1), 0);
}

export function steerExample(id: string): SteerExample {
  if (id === 'sentiment:positive') return sentimentExample();
  if (id.startsWith('persona:')) return personaExample(id.slice('persona:'.length));
  throw new Error(`unknown steering example "${id}" (persona:<id> or sentiment:positive)`);
}

/** Greedy generations from the example's prompts, with the target's steering LoRA or without. */
export async function steerGenerations(model: Model, codec: ChatCodec, prompts: { ids: number[] }[], lora: LoraAdapter | null, maxNewTokens = 16): Promise<string[]> {
  const out: string[] = [];
  for (const p of prompts) out.push(codec.decode(await model.generate(p.ids, { maxNewTokens, stop: codec.stop, lora })));
  return out;
}
