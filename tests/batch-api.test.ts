// The batch primitives as worker calls, run in Node on Dawn: the same answers as the engine called directly,
// plain data out, generation's default stop at the end of a turn.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Model } from '../src/engine/model';
import { memoryFiles } from '../src/engine/files';
import { nodeGpu } from '../src/gpu/node';
import { createEngineApi } from '../src/workers/engine-api';
import type { EngineApi, LoadedModel } from '../src/workers/api';
import { makeTinyModel, tinyModelFiles } from './fixtures/tiny-models';

const WORDS = ['<unk>', '<s>', '</s>', ...Array.from({ length: 61 }, (_, i) => `w${i}`)];
const tokenizerJson = {
  version: '1.0',
  added_tokens: [0, 1, 2].map((id) => ({ id, content: WORDS[id], single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
  normalizer: null,
  pre_tokenizer: { type: 'WhitespaceSplit' },
  post_processor: null,
  decoder: { type: 'WordPiece', prefix: '##', cleanup: false },
  model: { type: 'WordLevel', vocab: Object.fromEntries(WORDS.map((w, i) => [w, i])), unk_token: '<unk>' },
};
const bytes = tinyModelFiles(makeTinyModel('llama-gqa', 3));
const files = {
  'config.json': new Blob([bytes['config.json']]),
  'model.safetensors': new Blob([bytes['model.safetensors'] as Uint8Array<ArrayBuffer>]),
  'tokenizer.json': new Blob([JSON.stringify(tokenizerJson)]),
  'tokenizer_config.json': new Blob([JSON.stringify({ bos_token: '<s>', eos_token: '</s>' })]),
};

let api: EngineApi;
let direct: Model;
let loaded: LoadedModel;
const seqs = [[5, 9, 13, 2], [7, 30], [11, 3, 60, 41, 8, 8]];

beforeAll(async () => {
  api = createEngineApi(() => nodeGpu());
  direct = await Model.load(await nodeGpu(), memoryFiles('direct', bytes));
  loaded = await api.loadModel({ kind: 'local', label: 'tiny', files });
});
afterAll(() => direct?.dispose());

describe('batch worker calls', () => {
  it('log-probabilities, candidate scores and batched forwards equal the engine called directly', async () => {
    const mask = seqs.map((s) => s.map((_, t) => t % 2 === 1));
    const lp = await api.logprobs(loaded.id, seqs, { mask });
    expect(lp).toEqual(await direct.logprobs(seqs, { mask }));
    expect(structuredClone(lp)).toEqual(lp);
    const queries = [{ seq: 2, position: 3, candidates: [1, 2, 40] }];
    expect(await api.candidateScores(loaded.id, seqs, queries)).toEqual(await direct.candidateScores(seqs, queries));
    const hooks = [{ name: 'blocks.0.hook_resid_post', op: 'read' as const }];
    const b = await api.forwardBatch(loaded.id, seqs, { lastLogits: true, hooks });
    expect(b).toEqual(await direct.forwardBatch(seqs, { lastLogits: true, hooks }));
  });

  it('samples stop at the end of a turn by default and carry their text', async () => {
    // Hot enough that some of the 360 draws is </s>.
    const o = { k: 4, maxNewTokens: 30, temperature: 20, seed: 4 };
    const got = await api.sample(loaded.id, seqs, o);
    const want = await direct.sample(seqs, { ...o, stop: [2] }); // </s>: the eos of the tokenizer and the config
    expect(got.map((r) => r.map(({ ids, finish }) => ({ ids, finish })))).toEqual(want);
    expect(got.flat().some((s) => s.finish === 'stop')).toBe(true); // the default stop acted
    const text = await api.decode(loaded.id, got[0][0].ids);
    expect(got[0][0].text).toBe(text);
    const word = text.split(' ')[1];
    const cut = await api.sample(loaded.id, seqs, { ...o, stopStrings: [word] });
    expect(cut[0][0].finish).toBe('stop_string');
    expect(cut[0][0].text.includes(word) && !(await api.decode(loaded.id, cut[0][0].ids.slice(0, -1))).includes(word)).toBe(true);
  });
});
