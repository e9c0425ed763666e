// The worker's API object, run in Node on Dawn: same answers as the engine called directly, plain data out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Model } from '../src/engine/model';
import { memoryFiles } from '../src/engine/files';
import { nodeGpu } from '../src/gpu/node';
import { createEngineApi } from '../src/workers/engine-api';
import type { EngineApi, LoadedModel, StreamedToken } from '../src/workers/api';
import { topK } from '../src/common/topk';
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

const model = makeTinyModel('llama-gqa', 3);
const bytes = tinyModelFiles(model);
const blobs = (withTokenizer: boolean): Record<string, Blob> => ({
  'config.json': new Blob([bytes['config.json']]),
  'model.safetensors': new Blob([bytes['model.safetensors'] as Uint8Array<ArrayBuffer>]),
  ...(withTokenizer
    ? {
        'tokenizer.json': new Blob([JSON.stringify(tokenizerJson)]),
        'tokenizer_config.json': new Blob([JSON.stringify({ bos_token: '<s>', eos_token: '</s>' })]),
      }
    : {}),
});

let api: EngineApi;
let direct: Model;
let loaded: LoadedModel;

beforeAll(async () => {
  api = createEngineApi(() => nodeGpu());
  direct = await Model.load(await nodeGpu(), memoryFiles('direct', bytes));
  loaded = await api.loadModel({ kind: 'local', label: 'tiny', files: blobs(true) });
});
afterAll(() => direct?.dispose());

describe('engine API', () => {
  it('reports the adapter and the loaded model as plain data', async () => {
    const info = await api.init();
    expect(info.architecture.toLowerCase()).toContain('swiftshader');
    expect(typeof info.features.subgroups).toBe('boolean');
    expect(loaded).toMatchObject({ id: 'm1', label: 'tiny', dtype: 'f32', hasTokenizer: true, hasChatTemplate: false, tokenizerNote: '' });
    expect(loaded.weightBytes).toBeGreaterThan(0);
    expect(loaded.config.vocab).toBe(64);
    expect(loaded.hookNames).toContain('blocks.1.hook_resid_post');
    expect(structuredClone(loaded)).toEqual(loaded);
  });

  it('tokenizes text and gives per-token strings', async () => {
    const t = await api.tokenize(loaded.id, 'w3 w4 nope');
    expect(t.ids).toEqual([6, 7, 0]);
    expect(t.tokens).toEqual(['w3', ' w4', ' <unk>']);
    await expect(api.tokenize(loaded.id, 'w3', { chat: true })).rejects.toThrow(/no chat template/);
  });

  it('forward: last-row logits, top-k and hook reads equal the engine called directly', async () => {
    const ids = [1, 5, 9, 12];
    const r = await api.forward(loaded.id, ids, { top: 5, hooks: [{ name: 'blocks.0.hook_resid_post', op: 'read' }] });
    const want = await direct.forward(ids, { logits: 'all', hooks: [{ name: 'blocks.0.hook_resid_post', op: 'read' }] });
    const V = 64;
    expect(r.logitRows).toBe(1);
    expect(Array.from(r.logits)).toEqual(Array.from(want.logits!.subarray(3 * V)));
    expect(r.top.map((t) => t.id)).toEqual(topK(want.logits!.subarray(3 * V), 5).map((t) => t.id));
    expect(r.top[0].prob).toBeGreaterThan(r.top[4].prob);
    expect(r.top.map((t) => t.text)).toEqual(r.top.map((t) => ` ${WORDS[t.id]}`));
    expect(r.shapes['blocks.0.hook_resid_post']).toEqual([4, 32]);
    expect(Array.from(r.cache['blocks.0.hook_resid_post'])).toEqual(Array.from(want.cache['blocks.0.hook_resid_post']));
    const all = await api.forward(loaded.id, ids, { logits: 'all' });
    expect(all.logitRows).toBe(4);
    expect(Array.from(all.logits)).toEqual(Array.from(want.logits!));
  });

  it('generate streams every new token in order and matches the engine', async () => {
    const seen: StreamedToken[] = [];
    const r = await api.generate(loaded.id, [1, 5, 9], { maxNewTokens: 8, stop: [] }, (t) => seen.push(t));
    const want = await direct.generate([1, 5, 9], { maxNewTokens: 8, temperature: 0, stop: [] });
    expect(r.ids).toEqual(want);
    expect(seen.map((t) => t.id)).toEqual(want);
    expect(seen.map((t) => t.index)).toEqual([...want.keys()]);
    expect(seen.map((t) => t.text).join('')).toBe(' ' + r.text);
  });

  it('runs requests on one model one at a time, in order', async () => {
    const order: string[] = [];
    await Promise.all([
      api.generate(loaded.id, [1, 2], { maxNewTokens: 4, stop: [] }).then(() => order.push('generate')),
      api.forward(loaded.id, [1, 2, 3]).then(() => order.push('forward')),
    ]);
    expect(order).toEqual(['generate', 'forward']);
  });

  it('rejects bad input with messages that say what is wrong', async () => {
    await expect(api.forward(loaded.id, [1, 64])).rejects.toThrow(/token id 64 is outside the vocabulary of tiny \(0\.\.63\)/);
    await expect(api.forward(loaded.id, [])).rejects.toThrow(/at least one token/);
    await expect(api.forward('m99', [1])).rejects.toThrow(/no loaded model with id "m99"/);
  });

  it('works with a model that has no tokenizer, and disposes models', async () => {
    const bare = await api.loadModel({ kind: 'local', label: 'bare', files: blobs(false) });
    expect(bare.hasTokenizer).toBe(false);
    expect(await api.tokenStrings(bare.id, [3, 4])).toEqual(['#3', '#4']);
    await expect(api.tokenize(bare.id, 'w1')).rejects.toThrow(/bare has no tokenizer\.json/);
    const r = await api.forward(bare.id, [1, 2], { top: 2 });
    expect(r.top.map((t) => t.text)).toEqual(r.top.map((t) => `#${t.id}`));
    await api.dispose(bare.id);
    await expect(api.forward(bare.id, [1])).rejects.toThrow(/no loaded model/);
  });
});
