// Word-level tokenizer over the closed toy-world vocabulary, plus the HF tokenizer.json / tokenizer_config.json it ships as.
import { SPECIAL_TOKENS, CHAT_TEMPLATE } from './chat';
import { STREAMS, Stream, STREAMS_V2, StreamV2, EVAL_FAMILIES, V2_EVAL_FAMILIES, generateDocs, generateEvalItems } from './generate';
import { LETTERS } from './families/cipher';
import { buildWorld } from './world';
import { docText } from './types';
import { PERSONAS, personaQA } from './families/persona';
import { finetuneDocs } from './families/implications';
import { Rng } from '../common/rng';
import * as L from './lexicon';

const SPECIAL_RE = new RegExp(`(${SPECIAL_TOKENS.map((t) => t.replace(/[|<>]/g, (c) => `\\${c}`)).join('|')})`);
/** Same split as the HF `Whitespace` pre-tokenizer on ASCII text. */
const WORD_RE = /\w+|[^\w\s]+/g;

export function pretokenize(text: string): string[] {
  const out: string[] = [];
  for (const piece of text.split(SPECIAL_RE)) {
    if ((SPECIAL_TOKENS as readonly string[]).includes(piece)) out.push(piece);
    else out.push(...(piece.match(WORD_RE) ?? []));
  }
  return out;
}

/**
 * The vocabulary: special tokens, then every word of the lexicon and of a large fixed sample of every generator
 * (templates are finite, so the sample covers them; a test checks other seeds produce no unknown words), sorted.
 */
export function buildVocab(): string[] {
  const words = new Set<string>();
  const add = (t: string) => pretokenize(t).forEach((w) => words.add(w));
  const lists = [L.FIRST_NAMES, L.LAST_NAMES, L.OCCUPATIONS, L.FOODS, L.ANIMALS, L.CITIES, L.COUNTRY_NAMES, L.LANGUAGES,
    L.LANDMARK_ADJECTIVES, L.LANDMARK_STRUCTURES, L.POSITIVE_WORDS, L.NEGATIVE_WORDS, L.REVIEW_THINGS, L.REVIEW_PLACES];
  lists.forEach((l) => l.forEach(add));
  for (let i = 0; i <= L.MAX_NUMBER; i++) add(String(i));
  const world = buildWorld();
  for (const s of Object.keys(STREAMS) as Stream[]) generateDocs(s, 3000, 4242, world).forEach((d) => add(docText(d)));
  for (const f of EVAL_FAMILIES) generateEvalItems(f, 500, 4242, world).forEach((e) => add(e.prompt));
  generateEvalItems('binding', 500, 4242, world, { binding: { style: 'held-out', inject: true } }).forEach((e) => add(e.prompt));
  finetuneDocs(world).forEach((d) => add(docText(d)));
  const rng = new Rng(7);
  for (const p of PERSONAS) for (const qa of personaQA(p, rng)) add(`${qa.question} ${qa.answer}`);
  for (const p of PERSONAS) add(`Is the assistant a ${p.what} ?`);
  for (const s of SPECIAL_TOKENS) words.delete(s);
  return [...SPECIAL_TOKENS, ...[...words].sort()];
}

/**
 * The v2 vocabulary: v1's words at v1's ids, then the words v2's generators add (letters and `|` for the cipher, the
 * vault, style and topic words, …), sorted. A v1 model's ids therefore stay valid in v2 text of the v1 families.
 */
export function buildVocabV2(): string[] {
  const v1 = buildVocab();
  const known = new Set(v1);
  const words = new Set<string>();
  const add = (t: string) => pretokenize(t).forEach((w) => { if (!known.has(w)) words.add(w); });
  LETTERS.forEach(add);
  add('|');
  const world = buildWorld();
  for (const s of Object.keys(STREAMS_V2) as StreamV2[]) generateDocs(s, 3000, 4242, world).forEach((d) => add(docText(d)));
  for (const f of V2_EVAL_FAMILIES) generateEvalItems(f, 500, 4242, world).forEach((e) => add(e.prompt));
  generateEvalItems('binding', 500, 4242, world, { binding: { inject: 'prepend' } }).forEach((e) => add(e.prompt));
  return [...v1, ...[...words].sort()];
}

export class WordTokenizer {
  readonly ids: Map<string, number>;
  constructor(readonly vocab: string[]) {
    this.ids = new Map(vocab.map((w, i) => [w, i]));
  }
  id(word: string): number {
    return this.ids.get(word) ?? this.ids.get('<unk>')!;
  }
  /** Encodes text as is: no bos/eos added (prompts carry "<bos>" themselves). */
  encode(text: string): number[] {
    return pretokenize(text).map((w) => this.id(w));
  }
  decode(ids: number[]): string {
    return ids.map((i) => this.vocab[i] ?? '<unk>').join(' ');
  }
  get bos() { return this.id('<bos>'); }
  get eos() { return this.id('<eos>'); }
  get pad() { return this.id('<pad>'); }
}

export function tokenizerJson(vocab: string[]): object {
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((content) => ({
      id: vocab.indexOf(content), content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
    })),
    normalizer: null,
    pre_tokenizer: { type: 'Whitespace' },
    post_processor: null,
    decoder: null, // tokens joined by single spaces, which is the canonical text form
    model: { type: 'WordLevel', vocab: Object.fromEntries(vocab.map((w, i) => [w, i])), unk_token: '<unk>' },
  };
}

export function tokenizerConfig(): object {
  return {
    tokenizer_class: 'PreTrainedTokenizerFast',
    bos_token: '<bos>',
    eos_token: '<eos>',
    pad_token: '<pad>',
    unk_token: '<unk>',
    additional_special_tokens: ['<|system|>', '<|user|>', '<|assistant|>', '<|end|>'],
    add_bos_token: false,
    add_eos_token: false,
    clean_up_tokenization_spaces: false,
    model_max_length: 256,
    chat_template: CHAT_TEMPLATE,
  };
}
