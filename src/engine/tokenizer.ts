// A model's tokenizer, built from the files beside its weights (never fetched from the Hub on its own).
// transformers.js does the text work; this wrapper turns its many options into the few the lab needs.
// The Llama/GPT-2/Qwen2 tokenizer classes in transformers.js add nothing over PreTrainedTokenizer, so the
// base class is used directly (that keeps the rest of the library out of the worker bundle).

import { PreTrainedTokenizer } from '@huggingface/transformers';
import type { ModelFiles } from './files';
import type { ModelConfig } from './config';

export interface ChatMessage {
  role: string;
  content: string;
}

type Json = Record<string, unknown>;

/** Tokens decoded together when splitting text per token, so a character split across tokens stays whole. */
const PIECE_WINDOW = 6;

export class Tokenizer {
  readonly bosId: number | null;
  readonly eosIds: number[];
  readonly hasChatTemplate: boolean;

  private constructor(
    private readonly inner: PreTrainedTokenizer,
    private readonly label: string,
    extraEos: number[],
  ) {
    this.bosId = validId(inner.bos_token_id);
    const eos = [validId(inner.eos_token_id), ...extraEos].filter((x): x is number => x !== null);
    this.eosIds = [...new Set(eos)];
    this.hasChatTemplate = inner.chat_template != null;
  }

  /** null when the folder has no tokenizer.json; throws when a tokenizer file is present but unusable. */
  static async load(files: ModelFiles): Promise<Tokenizer | null> {
    const tokBytes = await files.read('tokenizer.json');
    if (!tokBytes) return null;
    const tokJson = parseJson(tokBytes, 'tokenizer.json', files.label);
    const cfgBytes = await files.read('tokenizer_config.json');
    const cfgJson = cfgBytes ? parseJson(cfgBytes, 'tokenizer_config.json', files.label) : {};
    // Chat templates also ship as a separate file in newer repos.
    if (cfgJson.chat_template == null) {
      const jinja = await files.read('chat_template.jinja');
      if (jinja) cfgJson.chat_template = new TextDecoder().decode(jinja);
    }
    // generation_config.json lists every id that ends a turn (Llama 3 has several).
    const genBytes = await files.read('generation_config.json');
    const gen = genBytes ? parseJson(genBytes, 'generation_config.json', files.label) : {};
    const genEos = gen.eos_token_id;
    const extraEos = (Array.isArray(genEos) ? genEos : [genEos]).filter((x): x is number => typeof x === 'number');

    // @huggingface/tokenizers has no WordLevel model: it falls back to a plain vocabulary lookup that takes the
    // unknown token from tokenizer_config.json, so carry the model's own unk_token over.
    const model = tokJson.model as Json | undefined;
    if (model?.type === 'WordLevel' && cfgJson.unk_token == null && typeof model.unk_token === 'string') {
      cfgJson.unk_token = model.unk_token;
    }

    let inner: PreTrainedTokenizer;
    try {
      inner = new PreTrainedTokenizer(tokJson, cfgJson);
      inner.encode('probe'); // some malformed models only fail on first use
    } catch (e) {
      throw new Error(`tokenizer.json in ${files.label} could not be used: ${(e as Error).message}`);
    }
    return new Tokenizer(inner, files.label, extraEos);
  }

  get vocabSize(): number {
    return this.inner.get_vocab().size;
  }

  encode(text: string, opts: { addSpecialTokens?: boolean } = {}): number[] {
    return this.checked(this.inner.encode(text, { add_special_tokens: opts.addSpecialTokens ?? true }), text);
  }

  /** A vocabulary without an unknown token leaves holes for words it lacks; say which words. */
  private checked(ids: (number | undefined)[], text: string): number[] {
    if (ids.every((x) => typeof x === 'number')) return ids as number[];
    const pieces = this.inner.tokenize(text);
    const missing = pieces.filter((p) => this.inner.convert_tokens_to_ids(p) == null);
    throw new Error(
      `the tokenizer of ${this.label} has no unknown token and cannot encode: ${missing.map((m) => JSON.stringify(m)).join(', ') || JSON.stringify(text)}`,
    );
  }

  /**
   * Ids that end a turn, where generation stops by default: the eos ids (tokenizer_config and generation_config,
   * which lists a Hub chat template's end-of-turn ids) and the toy world's `<|end|>` when it is one token.
   */
  get endOfTurnIds(): number[] {
    const end = this.inner.encode('<|end|>', { add_special_tokens: false });
    const toyEnd = end.length === 1 && typeof end[0] === 'number' && this.decode(end) === '<|end|>' ? end : [];
    return [...new Set([...this.eosIds, ...toyEnd])];
  }

  decode(ids: number[], opts: { skipSpecialTokens?: boolean } = {}): string {
    if (ids.length === 0) return '';
    return this.inner.decode(ids, { skip_special_tokens: opts.skipSpecialTokens ?? false });
  }

  /**
   * The text each token contributes, for display. Decoding a token alone loses the leading space that
   * SentencePiece decoders strip and splits multi-byte characters, so each piece is the difference between
   * decoding a short window ending at the token and the same window without it.
   */
  tokenStrings(ids: number[]): string[] {
    const raw = { skip_special_tokens: false, clean_up_tokenization_spaces: false };
    const dec = (xs: number[]) => (xs.length ? this.inner.decode(xs, raw) : '');
    return ids.map((id, i) => {
      const start = Math.max(0, i - PIECE_WINDOW);
      // An unfinished byte sequence decodes to U+FFFD; leave it out so the next token carries the character.
      const before = dec(ids.slice(start, i)).replace(/\uFFFD+$/, '');
      const upto = i === ids.length - 1 ? dec(ids.slice(start, i + 1)) : dec(ids.slice(start, i + 1)).replace(/\uFFFD+$/, '');
      const piece = upto.startsWith(before) ? upto.slice(before.length) : '';
      return piece !== '' ? piece : dec([id]);
    });
  }

  /** Render messages with the model's chat template and tokenize the result (template decides special tokens). */
  applyChatTemplate(messages: ChatMessage[], opts: { addGenerationPrompt?: boolean } = {}): number[] {
    if (!this.hasChatTemplate) {
      throw new Error(`the tokenizer in ${this.label} has no chat template (tokenizer_config.json has no "chat_template")`);
    }
    const ids = this.inner.apply_chat_template(messages, {
      add_generation_prompt: opts.addGenerationPrompt ?? false,
      tokenize: true,
      return_tensor: false,
      return_dict: false,
    }) as number[];
    return this.checked(ids, this.renderChat(messages, opts));
  }

  /** The rendered chat prompt as text, for showing what the template produced. */
  renderChat(messages: ChatMessage[], opts: { addGenerationPrompt?: boolean } = {}): string {
    if (!this.hasChatTemplate) throw new Error(`the tokenizer in ${this.label} has no chat template`);
    return this.inner.apply_chat_template(messages, {
      add_generation_prompt: opts.addGenerationPrompt ?? false,
      tokenize: false,
    }) as string;
  }
}

function parseJson(bytes: Uint8Array, name: string, label: string): Json {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new Error(`${name} in ${label} is not valid JSON: ${(e as Error).message}`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error(`${name} in ${label} is not a JSON object`);
  return v as Json;
}

function validId(x: unknown): number | null {
  return typeof x === 'number' && Number.isInteger(x) && x >= 0 ? x : null;
}

/** Where generation stops unless told otherwise: the end of a turn (tokenizer) and the config's eos ids. */
export function defaultStopIds(cfg: ModelConfig, tok: Tokenizer | null): number[] {
  return [...new Set([...(tok?.endOfTurnIds ?? []), ...cfg.eosTokenIds])];
}
