// Explicit position ids (a token placed at the position it had in another context): forward, KV-cached
// steps and gradients against the float64 reference given the same ids; rotary attention depends only on
// relative positions, so shifting every id by a constant leaves a Llama's logits unchanged.
import { beforeAll, describe, expect, test } from 'vitest';
import { nodeGpu } from '../src/gpu/node';
import { Model } from '../src/engine/model';
import { folderFiles } from '../src/engine/files-node';
import { lossGradients, nextTokenLabels } from '../src/engine/trainer';
import { writeTinyModel, type TinyKind } from './fixtures/tiny-models';
import { loadRefModel, referenceForward, type RefModel } from './reference/reference';
import { expectClose } from './helpers/close';
import { referenceLoss } from './helpers/ref-loss';

const ids = [3, 17, 5, 42, 9, 0, 33, 12];
const positions = [0, 9, 10, 11, 12, 3, 4, 20];

describe.each(['llama-gqa', 'gpt2', 'qwen2'] as TinyKind[])('%s', (kind) => {
  let model: Model;
  let ref: RefModel;
  beforeAll(async () => {
    const dir = writeTinyModel(kind);
    model = await Model.load(await nodeGpu(), folderFiles(dir));
    ref = loadRefModel(dir);
  });

  test('a forward at given position ids matches the reference', async () => {
    const got = await model.forward(ids, { positions, hooks: [{ name: 'blocks.1.attn.hook_pattern', op: 'read' }] });
    const want = referenceForward(ref, ids, [{ name: 'blocks.1.attn.hook_pattern', op: 'read' }], positions);
    expectClose('logits', got.logits!, want.logits);
    expectClose('pattern', got.cache['blocks.1.attn.hook_pattern'], want.cache.get('blocks.1.attn.hook_pattern')!);
    const plain = await model.forward(ids);
    expect(Array.from(plain.logits!)).not.toEqual(Array.from(got.logits!));
  });

  test('KV-cached steps keep the position ids they were given', async () => {
    const V = model.config.vocab;
    const cache = model.newCache(ids.length);
    await model.forward(ids.slice(0, 5), { cache, positions: positions.slice(0, 5) });
    const step = await model.forward(ids.slice(5), { cache, positions: positions.slice(5), logits: 'all' });
    const full = await model.forward(ids, { positions });
    expectClose('cached steps', step.logits!, full.logits!.subarray(5 * V), 1e-5, 1e-4);
    expect(cache.positions).toEqual(positions);
    cache.release();
  });

  test('gradients at given position ids match finite differences', async () => {
    const labels = nextTokenLabels(ids, 2);
    const name = 'blocks.0.attn.hook_k';
    const got = await lossGradients(model.parts, { ids, labels, positions }, [{ name, op: 'grad' }]);
    const g = got.cache[`${name}.grad`];
    const width = g.length / ids.length;
    const loss = (value: number[]) => referenceLoss(ref, ids, labels, [{ name, op: 'add', value }], positions);
    for (const at of [1 * width + 2, 4 * width + 5, 6 * width + 1]) {
      const bump = (e: number) => loss(Array.from({ length: g.length }, (_, i) => (i === at ? e : 0)));
      const fd = (bump(1e-4) - bump(-1e-4)) / 2e-4;
      expect(Math.abs(g[at] - fd), `${name}[${at}]: engine ${g[at]}, FD ${fd}`).toBeLessThan(2e-3 * Math.abs(fd) + 2e-5);
    }
  });

  test('bad position ids are refused', async () => {
    await expect(model.forward(ids, { positions: [0, 1] })).rejects.toThrow(/positions must be 8 non-negative integers/);
    await expect(model.forward(ids, { positions: ids.map(() => -1) })).rejects.toThrow(/non-negative/);
  });
});

test('rotary attention only sees relative positions: shifting every id leaves a Llama unchanged', async () => {
  const model = await Model.load(await nodeGpu(), folderFiles(writeTinyModel('llama-tied')));
  const a = await model.forward(ids);
  const b = await model.forward(ids, { positions: ids.map((_, t) => t + 7) });
  expectClose('shifted', b.logits!, a.logits!, 1e-4, 1e-4);
  model.dispose();
});
