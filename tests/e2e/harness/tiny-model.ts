// A tiny random Llama (tests/fixtures/tiny-models.ts) plus a word-level tokenizer with a chat template,
// written to a temp folder the e2e server mounts under /models/. SwiftShader is slow, so it stays tiny.
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTinyModel, tinyModelFiles, type TinyKind } from '../../fixtures/tiny-models';

const KIND: TinyKind = 'llama-gqa'; // vocab 64, bos 1, eos 2

const WORDS = [
  'the', 'a', 'cat', 'dog', 'sat', 'ran', 'on', 'in', 'mat', 'park', 'is', 'was', 'big', 'small', 'red', 'blue',
  'Paris', 'Rome', 'France', 'Italy', 'capital', 'of', 'city', 'and', 'to', 'it', 'he', 'she', 'saw', 'ate', 'fish',
  'bread', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'yes', 'no', 'good', 'bad',
  'old', 'new', 'tree', 'house', 'river', 'sun', 'moon', 'day', 'night', 'rain', 'snow', 'hot', 'cold', '.', ',',
];

export const TINY_VOCAB = ['<unk>', '<s>', '</s>', ...WORDS];

const special = (id: number, content: string) => ({
  id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
});

function tokenizerJson() {
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(0, '<unk>'), special(1, '<s>'), special(2, '</s>')],
    normalizer: null,
    pre_tokenizer: { type: 'WhitespaceSplit' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: false },
    model: { type: 'WordLevel', vocab: Object.fromEntries(TINY_VOCAB.map((w, i) => [w, i])), unk_token: '<unk>' },
  };
}

const tokenizerConfig = {
  bos_token: '<s>',
  eos_token: '</s>',
  unk_token: '<unk>',
  chat_template: "{{ bos_token }}{% for m in messages %}{{ m['role'] + ' ' + m['content'] + ' . ' }}{% endfor %}",
};

/** Writes the model folder (config, weights, tokenizer) and returns its path. */
export function writeTinyChatModel(root = join(tmpdir(), `latentlab-e2e-${process.pid}`)): string {
  const m = makeTinyModel(KIND, 7);
  if ((m.configJson.vocab_size as number) !== TINY_VOCAB.length) {
    throw new Error(`tiny model vocab ${m.configJson.vocab_size} ≠ tokenizer vocab ${TINY_VOCAB.length}`);
  }
  const dir = join(root, 'e2e-tiny');
  mkdirSync(dir, { recursive: true });
  const files = tinyModelFiles(m);
  writeFileSync(join(dir, 'config.json'), files['config.json']);
  writeFileSync(join(dir, 'model.safetensors'), files['model.safetensors']);
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJson()));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig));
  writeFileSync(join(root, 'index.json'), JSON.stringify({ models: [{ id: 'e2e-tiny', label: 'e2e-tiny', path: 'e2e-tiny/' }] }));
  return dir;
}
