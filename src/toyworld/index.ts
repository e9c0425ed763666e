// Public API of the toy world: generator, tokenizer, chat format and evaluation.
export { Rng, mixSeed } from '../common/rng';
export * as lexicon from './lexicon';
export { buildWorld, DEFAULT_WORLD_SEED, WORLD_SIZES } from './world';
export type { World, Person, Landmark, PersonGroup } from './world';
export type { Doc, Part, EvalItem, Check } from './types';
export { docText } from './types';
export { STREAMS, EVAL_FAMILIES, generateDocs, generateEvalItems } from './generate';
export type { Stream, EvalFamily, EvalOptions } from './generate';
export { bindingContext, bindingEvalItem, DOMAINS } from './families/binding';
export { finetuneDocs, implicationsEvalItem, biography } from './families/implications';
export { PERSONAS, personaChat, personaQA, personaEvalItem } from './families/persona';
export { arithmeticProblem } from './families/arithmetic';
export { CATEGORIES, mentions } from './families/judgement';
export { renderChat, CHAT_TEMPLATE, SPECIAL_TOKENS } from './chat';
export { WordTokenizer, buildVocab, pretokenize, tokenizerJson, tokenizerConfig } from './tokenizer';
export { evaluateFamily, evaluateItems, scoreItem, checkGeneration, argmax } from './eval';
export type { Scorer, EvalReport, ItemResult } from './eval';
