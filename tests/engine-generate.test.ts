// Generation with the KV cache: each cached step equals a full recomputation of the prefix, greedy
// output equals the float64 reference's, sampling is reproducible from its seed, hooks act at every step.
import { beforeAll, describe, expect, test } from 'vitest';
import { fileURLToPath } from 'node:url';
import { nodeGpu } from '../src/gpu/node';
import { Model } from '../src/engine/model';
import { folderFiles } from '../src/engine/files-node';
import { argmax } from './reference/sampling';
import { writeTinyModel, type TinyKind } from './fixtures/tiny-models';
import { loadRefModel, referenceForward, referenceGreedy } from './reference/reference';
import { expectClose } from './helpers/close';

export const STORIES = fileURLToPath(new URL('../../shared/models/stories260K', import.meta.url));

describe.each(['llama-gqa', 'gpt2', 'qwen2'] as TinyKind[])('%s', (kind) => {
  let model: Model;
  let dir: string;
  beforeAll(async () => {
    dir = writeTinyModel(kind);
    model = await Model.load(await nodeGpu(), folderFiles(dir));
  });

  test('KV-cache steps equal full recomputation at every step', async () => {
    const V = model.config.vocab;
    const seq = [5, 9, 13];
    const cache = model.newCache(16);
    let step = await model.forward(seq, { cache, logits: 'last' });
    for (let i = 0; i < 10; i++) {
      const full = await model.forward(seq);
      expectClose(`step ${i}`, step.logits!, full.logits!.subarray((seq.length - 1) * V), 1e-5, 1e-4);
      seq.push(argmax(step.logits!));
      step = await model.forward([seq[seq.length - 1]], { cache, logits: 'last' });
    }
    cache.release();
  });

  test('greedy generation equals the reference', async () => {
    const got = await model.generate([5, 9], { maxNewTokens: 12, stop: [] });
    expect(got).toEqual(referenceGreedy(loadRefModel(dir), [5, 9], 12));
  });

  test('steering hooks act during generation', async () => {
    const D = model.config.hidden;
    const hooks = [{ name: 'blocks.1.hook_resid_post', op: 'add' as const, value: new Array(D).fill(0).map((_, i) => Math.cos(i)), coeff: 3 }];
    const steered = await model.generate([5, 9], { maxNewTokens: 6, stop: [], hooks });
    const seq = [5, 9];
    for (let i = 0; i < 6; i++) {
      const { logits } = referenceForward(loadRefModel(dir), seq, hooks);
      seq.push(argmax(logits.subarray((seq.length - 1) * model.config.vocab)));
    }
    expect(steered).toEqual(seq.slice(2));
  });
});

describe('stories260K (a real pretrained llama2.c checkpoint)', () => {
  let model: Model;
  beforeAll(async () => {
    model = await Model.load(await nodeGpu(), folderFiles(STORIES));
  });

  test('greedy continuation of [1] for 30 tokens equals the float64 reference', async () => {
    const streamed: number[] = [];
    const got = await model.generate([1], { maxNewTokens: 30, stop: [] }, (id) => streamed.push(id));
    expect(got).toEqual(referenceGreedy(loadRefModel(STORIES), [1], 30));
    expect(streamed).toEqual(got);
  });

  test('sampling is reproducible from its seed', async () => {
    const opts = { maxNewTokens: 20, temperature: 1, topK: 5, topP: 0.95, seed: 7, stop: [] };
    const a = await model.generate([1], opts);
    const b = await model.generate([1], opts);
    const c = await model.generate([1], { ...opts, seed: 8 });
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  test('generation stops at a stop token and includes it', async () => {
    const free = await model.generate([1], { maxNewTokens: 10, stop: [] });
    const stopped = await model.generate([1], { maxNewTokens: 10, stop: [free[3]] });
    expect(stopped).toEqual(free.slice(0, free.indexOf(free[3]) + 1));
  });
});
