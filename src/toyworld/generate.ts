// Registry of training streams and evaluation families; every stream has its own seeded RNG so streams are independent.
import { Rng, mixSeed } from '../common/rng';
import { World, buildWorld } from './world';
import { Doc, EvalItem } from './types';
import { bindingDoc, bindingEvalItem, BindingEvalOptions } from './families/binding';
import { implicationsDoc, implicationsEvalItem, ImplicationsSet } from './families/implications';
import { personaDoc, personaEvalItem } from './families/persona';
import { arithmeticDoc, arithmeticEvalItem } from './families/arithmetic';
import { sentimentDoc, sentimentEvalItem } from './families/sentiment';
import { judgementDoc, judgementEvalItem } from './families/judgement';

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

export const EVAL_FAMILIES = ['binding', 'implications', 'persona', 'arithmetic', 'sentiment', 'judgement'] as const;
export type EvalFamily = (typeof EVAL_FAMILIES)[number];

export function generateDocs(stream: Stream, n: number, seed: number, world: World = buildWorld()): Doc[] {
  const rng = new Rng(mixSeed(seed, `train:${stream}`));
  return Array.from({ length: n }, () => STREAMS[stream](rng, world));
}

export interface EvalOptions {
  binding?: BindingEvalOptions;
  implications?: ImplicationsSet;
}

/**
 * n fresh held-out items for a family. Eval seeds use their own stream tag, so they never replay a training stream
 * even when the numbers coincide.
 */
export function generateEvalItems(family: EvalFamily, n: number, seed: number, world: World = buildWorld(), opts: EvalOptions = {}): EvalItem[] {
  const rng = new Rng(mixSeed(seed, `eval:${family}`));
  const make: Record<EvalFamily, () => EvalItem> = {
    binding: () => bindingEvalItem(rng, opts.binding),
    implications: () => implicationsEvalItem(rng, world, opts.implications),
    persona: () => personaEvalItem(rng),
    arithmetic: () => arithmeticEvalItem(rng),
    sentiment: () => sentimentEvalItem(rng),
    judgement: () => judgementEvalItem(rng, world),
  };
  return Array.from({ length: n }, make[family]);
}
