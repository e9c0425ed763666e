// Registry of training streams and evaluation families; every stream has its own seeded RNG so streams are independent.
// v1 (STREAMS, EVAL_FAMILIES) is what the shipped toy-s / toy-m were trained and carded on and stays byte-identical;
// v2 (STREAMS_V2, ALL_EVAL_FAMILIES) adds dense recall for binding, composed two-hop knowledge and the new families.
import { Rng, mixSeed } from '../common/rng';
import { World, buildWorld } from './world';
import { Doc, EvalItem } from './types';
import { bindingDoc, bindingEvalItem, BindingEvalOptions } from './families/binding';
import { implicationsDoc, implicationsEvalItem, ImplicationsSet } from './families/implications';
import { personaDoc, personaEvalItem } from './families/persona';
import { arithmeticDoc, arithmeticEvalItem, ArithmeticSplit } from './families/arithmetic';
import { sentimentDoc, sentimentEvalItem } from './families/sentiment';
import { judgementDoc, judgementEvalItem } from './families/judgement';
import { inductionDoc, recallDoc } from './families/recall';
import { implicationsDocV2, composeEvalItem, twohopDoc, twohopEvalItem } from './families/twohop';
import { refusalDoc, refusalEvalItem, RefusalSet } from './families/refusal';
import { styleDoc, styleEvalItem } from './families/style';
import { topicDoc, topicEvalItem } from './families/topic';
import { cipherDoc, cipherEvalItem, CipherTask } from './families/cipher';

/** Training streams. Binding is split by entity count so a trainer can run a 1 → 2 → 3–4 curriculum. */
export const STREAMS = {
  'binding-1': (rng: Rng) => bindingDoc(rng, 1),
  'binding-2': (rng: Rng) => bindingDoc(rng, 2),
  'binding-3': (rng: Rng) => bindingDoc(rng, 3),
  'binding-4': (rng: Rng) => bindingDoc(rng, 4),
  implications: (rng: Rng, w: World) => implicationsDoc(rng, w),
  persona: (rng: Rng) => personaDoc(rng),
  arithmetic: (rng: Rng) => arithmeticDoc(rng),
  sentiment: (rng: Rng) => sentimentDoc(rng),
  judgement: (rng: Rng, w: World) => judgementDoc(rng, w),
} satisfies Record<string, (rng: Rng, w: World) => Doc>;
export type Stream = keyof typeof STREAMS;

/**
 * Toy world v2 streams. Binding follows the measured recipe (induction data; dense recall with the answer 0 and 1
 * tokens after the queried name; then the natural questions), for a trainer-side curriculum over these streams.
 */
export const STREAMS_V2 = {
  induction: (rng: Rng) => inductionDoc(rng),
  'recall-gap0': (rng: Rng) => recallDoc(rng, 'gap0', 1, 4),
  'recall-gap1': (rng: Rng) => recallDoc(rng, 'gap1', 1, 4),
  'recall-question': (rng: Rng) => recallDoc(rng, 'question', 2, 4),
  'binding-2': STREAMS['binding-2'],
  'binding-3': STREAMS['binding-3'],
  'binding-4': STREAMS['binding-4'],
  implications: (rng: Rng, w: World) => implicationsDocV2(rng, w),
  persona: STREAMS.persona,
  arithmetic: STREAMS.arithmetic,
  sentiment: STREAMS.sentiment,
  judgement: STREAMS.judgement,
  refusal: (rng: Rng) => refusalDoc(rng),
  style: (rng: Rng) => styleDoc(rng),
  topic: (rng: Rng) => topicDoc(rng),
  cipher: (rng: Rng) => cipherDoc(rng),
  twohop: (rng: Rng) => twohopDoc(rng),
} satisfies Record<string, (rng: Rng, w: World) => Doc>;
export type StreamV2 = keyof typeof STREAMS_V2;

export const EVAL_FAMILIES = ['binding', 'implications', 'persona', 'arithmetic', 'sentiment', 'judgement'] as const;
/** v2 adds these; a v1 model scores them near zero (their words are outside its vocabulary). */
export const V2_EVAL_FAMILIES = ['refusal', 'style', 'topic', 'cipher', 'twohop'] as const;
export const ALL_EVAL_FAMILIES = [...EVAL_FAMILIES, ...V2_EVAL_FAMILIES] as const;
export type EvalFamily = (typeof ALL_EVAL_FAMILIES)[number];

export function generateDocs(stream: Stream | StreamV2, n: number, seed: number, world: World = buildWorld()): Doc[] {
  const rng = new Rng(mixSeed(seed, `train:${stream}`));
  const make = (STREAMS_V2 as Record<string, (rng: Rng, w: World) => Doc>)[stream] ?? STREAMS[stream as Stream];
  return Array.from({ length: n }, () => make(rng, world));
}

export interface EvalOptions {
  binding?: BindingEvalOptions;
  /** 'compose': country / language of the v2 compose people (composition never trained). */
  implications?: ImplicationsSet | 'compose';
  arithmetic?: ArithmeticSplit;
  refusal?: RefusalSet;
  cipher?: CipherTask;
}

/**
 * n fresh held-out items for a family. Eval seeds use their own stream tag, so they never replay a training stream
 * even when the numbers coincide.
 */
export function generateEvalItems(family: EvalFamily, n: number, seed: number, world: World = buildWorld(), opts: EvalOptions = {}): EvalItem[] {
  const rng = new Rng(mixSeed(seed, `eval:${family}`));
  const make: Record<EvalFamily, () => EvalItem> = {
    binding: () => bindingEvalItem(rng, opts.binding),
    implications: () => opts.implications === 'compose' ? composeEvalItem(rng, world) : implicationsEvalItem(rng, world, opts.implications),
    persona: () => personaEvalItem(rng),
    arithmetic: () => arithmeticEvalItem(rng, opts.arithmetic),
    sentiment: () => sentimentEvalItem(rng),
    judgement: () => judgementEvalItem(rng, world),
    refusal: () => refusalEvalItem(rng, opts.refusal),
    style: () => styleEvalItem(rng),
    topic: () => topicEvalItem(rng),
    cipher: () => cipherEvalItem(rng, opts.cipher),
    twohop: () => twohopEvalItem(rng),
  };
  return Array.from({ length: n }, make[family]);
}
