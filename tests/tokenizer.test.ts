// Tokenizer wrapper: built from in-memory model files (word-level and byte-level BPE tokenizers written here).
import { describe, expect, it } from 'vitest';
import { Tokenizer } from '../src/engine/tokenizer';
import type { ModelFiles } from '../src/engine/files';

const enc = new TextEncoder();

function memFiles(entries: Record<string, unknown>, label = 'mem://model'): ModelFiles {
  return {
    label,
    async read(path: string) {
      if (!(path in entries)) return null;
      const v = entries[path];
      return enc.encode(typeof v === 'string' ? v : JSON.stringify(v));
    },
  };
}

const WORDS = ['<s>', '</s>', '<unk>', '<|user|>', '<|assistant|>', '<|end|>', 'hello', 'world', 'the', 'cat', 'sat', '.'];
const special = (id: number, content: string) => ({
  id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
});

const wordLevel = {
  version: '1.0',
  truncation: null,
  padding: null,
  added_tokens: [special(0, '<s>'), special(1, '</s>'), special(2, '<unk>'), special(3, '<|user|>'), special(4, '<|assistant|>'), special(5, '<|end|>')],
  normalizer: null,
  pre_tokenizer: { type: 'WhitespaceSplit' },
  post_processor: {
    type: 'TemplateProcessing',
    single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
    pair: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
    special_tokens: { '<s>': { id: '<s>', ids: [0], tokens: ['<s>'] } },
  },
  decoder: { type: 'WordPiece', prefix: '##', cleanup: false },
  model: { type: 'WordLevel', vocab: Object.fromEntries(WORDS.map((w, i) => [w, i])), unk_token: '<unk>' },
};

const chatTemplate =
  "{% for m in messages %}{{ '<|' + m['role'] + '|> ' + m['content'] + ' <|end|> ' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}";

const wordConfig = { bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>', chat_template: chatTemplate };

/** GPT-2's byte ↔ printable-character table, so a byte-level BPE vocabulary can be written out. */
function byteChars(): string[] {
  const keep: number[] = [];
  for (let b = 33; b <= 126; b++) keep.push(b);
  for (let b = 161; b <= 172; b++) keep.push(b);
  for (let b = 174; b <= 255; b++) keep.push(b);
  const out: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) out[b] = keep.includes(b) ? String.fromCharCode(b) : String.fromCharCode(256 + extra++);
  return out;
}

function byteLevelBpe() {
  const chars = byteChars();
  const vocab: Record<string, number> = {};
  chars.forEach((c, i) => (vocab[c] = i));
  // Merges: "Ġ"+"c" → "Ġc", "Ġc"+"a" → "Ġca", "Ġca"+"t" → "Ġcat" (Ġ is the space byte).
  const merges = [['Ġ', 'c'], ['Ġc', 'a'], ['Ġca', 't'], ['h', 'i']];
  for (const [a, b] of merges) vocab[a + b] = Object.keys(vocab).length;
  vocab['<|endoftext|>'] = Object.keys(vocab).length;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(vocab['<|endoftext|>'], '<|endoftext|>')],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab, merges: merges.map((m) => m.join(' ')) },
  };
}

describe('Tokenizer.load', () => {
  it('returns null when the folder has no tokenizer.json', async () => {
    expect(await Tokenizer.load(memFiles({ 'config.json': {} }))).toBeNull();
  });

  it('names the file and the folder when tokenizer.json is not JSON', async () => {
    await expect(Tokenizer.load(memFiles({ 'tokenizer.json': '{"model": ' }, 'mem://broken'))).rejects.toThrow(
      /tokenizer\.json in mem:\/\/broken is not valid JSON/,
    );
  });

  it('says the tokenizer cannot be used when tokenizer.json is JSON but not a tokenizer', async () => {
    await expect(Tokenizer.load(memFiles({ 'tokenizer.json': { model: { type: 'NoSuchModel' } } }))).rejects.toThrow(
      /tokenizer\.json in mem:\/\/model could not be used/,
    );
    await expect(Tokenizer.load(memFiles({ 'tokenizer.json': [1, 2] }))).rejects.toThrow(/not a JSON object/);
  });
});

describe('word-level tokenizer with a chat template', () => {
  const load = async (extra: Record<string, unknown> = {}) =>
    (await Tokenizer.load(memFiles({ 'tokenizer.json': wordLevel, 'tokenizer_config.json': wordConfig, ...extra })))!;

  it('encodes with and without special tokens', async () => {
    const t = await load();
    expect(t.encode('the cat sat .')).toEqual([0, 8, 9, 10, 11]);
    expect(t.encode('the cat sat .', { addSpecialTokens: false })).toEqual([8, 9, 10, 11]);
    expect(t.encode('the dog')).toEqual([0, 8, 2]);
  });

  it('decodes, and gives one display string per token', async () => {
    const t = await load();
    expect(t.decode([8, 9, 10])).toBe('the cat sat');
    expect(t.decode([])).toBe('');
    expect(t.tokenStrings([0, 8, 9, 10])).toEqual(['<s>', ' the', ' cat', ' sat']);
    expect(t.tokenStrings([8, 9])).toEqual(['the', ' cat']);
  });

  it('knows bos and eos, adding the end-of-turn ids of generation_config.json', async () => {
    const t = await load();
    expect(t.bosId).toBe(0);
    expect(t.eosIds).toEqual([1]);
    const t2 = await load({ 'generation_config.json': { eos_token_id: [1, 5] } });
    expect(t2.eosIds).toEqual([1, 5]);
  });

  it('applies the chat template and tokenizes without adding <s> again', async () => {
    const t = await load();
    const msgs = [{ role: 'user', content: 'hello world' }];
    expect(t.renderChat(msgs, { addGenerationPrompt: true })).toBe('<|user|> hello world <|end|> <|assistant|>');
    expect(t.applyChatTemplate(msgs, { addGenerationPrompt: true })).toEqual([3, 6, 7, 5, 4]);
    expect(t.applyChatTemplate(msgs, { addGenerationPrompt: false })).toEqual([3, 6, 7, 5]);
  });

  it('reads the template from chat_template.jinja when the config has none', async () => {
    const t = (await Tokenizer.load(
      memFiles({ 'tokenizer.json': wordLevel, 'tokenizer_config.json': { bos_token: '<s>' }, 'chat_template.jinja': chatTemplate }),
    ))!;
    expect(t.applyChatTemplate([{ role: 'user', content: 'hello' }], { addGenerationPrompt: true })).toEqual([3, 6, 5, 4]);
  });

  it('throws a clear error when there is no chat template', async () => {
    const t = (await Tokenizer.load(memFiles({ 'tokenizer.json': wordLevel, 'tokenizer_config.json': { bos_token: '<s>' } })))!;
    expect(t.hasChatTemplate).toBe(false);
    expect(() => t.applyChatTemplate([{ role: 'user', content: 'hi' }], { addGenerationPrompt: true })).toThrow(
      /has no chat template/,
    );
  });

  it('works without tokenizer_config.json, unknown words included', async () => {
    const t = (await Tokenizer.load(memFiles({ 'tokenizer.json': wordLevel })))!;
    expect(t.encode('hello world', { addSpecialTokens: false })).toEqual([6, 7]);
    expect(t.encode('hello there', { addSpecialTokens: false })).toEqual([6, 2]);
    expect(t.bosId).toBeNull();
    expect(t.eosIds).toEqual([]);
  });
});

it('names the words it cannot encode when the vocabulary has no unknown token', async () => {
  const noUnk = { ...wordLevel, model: { ...wordLevel.model, unk_token: null } };
  const t = (await Tokenizer.load(memFiles({ 'tokenizer.json': noUnk })))!;
  expect(t.encode('hello world', { addSpecialTokens: false })).toEqual([6, 7]);
  expect(() => t.encode('hello there')).toThrow(/has no unknown token and cannot encode: "there"/);
});

describe('byte-level BPE tokenizer', () => {
  const load = async () => (await Tokenizer.load(memFiles({ 'tokenizer.json': byteLevelBpe(), 'tokenizer_config.json': { eos_token: '<|endoftext|>' } })))!;

  it('round-trips text, including characters that span several bytes', async () => {
    const t = await load();
    for (const text of ['hi cat', 'a café!', 'naïve → ok']) expect(t.decode(t.encode(text))).toBe(text);
    expect(t.eosIds).toEqual([260]);
  });

  it('merges and shows leading spaces in the per-token strings', async () => {
    const t = await load();
    const ids = t.encode('hi cat');
    expect(ids).toEqual([259, 258]); // "hi", "Ġcat" (ids after the 256 bytes: Ġc, Ġca, Ġcat, hi)
    expect(t.tokenStrings(ids)).toEqual(['hi', ' cat']);
  });

  it('gives a two-byte character to the token that completes it', async () => {
    const t = await load();
    const ids = t.encode('é');
    expect(ids).toHaveLength(2); // 0xC3, 0xA9 as two byte tokens
    expect(t.tokenStrings(ids)).toEqual(['\uFFFD', 'é']);
    // Elsewhere the pieces concatenate back to the text.
    const text = 'hi cat hi';
    expect(t.tokenStrings(t.encode(text)).join('')).toBe(text);
  });
});

describe('SentencePiece-style (Llama-2 layout) tokenizer', () => {
  const pieces = ['<unk>', '<s>', '</s>', '▁', 't', 'h', 'e', 'c', 'a', '▁t', '▁th', '▁the', '▁c', '▁ca', '▁cat'];
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(0, '<unk>'), special(1, '<s>'), special(2, '</s>')],
    normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] },
    pre_tokenizer: null,
    post_processor: wordLevel.post_processor,
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: true, byte_fallback: true,
      vocab: Object.fromEntries(pieces.map((p, i) => [p, i])),
      merges: ['▁ t', '▁t h', '▁th e', '▁ c', '▁c a', '▁ca t'],
    },
  };

  it('keeps the space that the decoder strips from the first word when the token is not first', async () => {
    const t = (await Tokenizer.load(memFiles({ 'tokenizer.json': json, 'tokenizer_config.json': { bos_token: '<s>', eos_token: '</s>' } })))!;
    const ids = t.encode('the cat');
    expect(ids).toEqual([1, 11, 14]);
    expect(t.decode(ids.slice(1))).toBe('the cat');
    expect(t.tokenStrings(ids.slice(1))).toEqual(['the', ' cat']);
    // Decoded alone, "▁cat" would lose its space.
    expect(t.decode([14])).toBe('cat');
  });
});
