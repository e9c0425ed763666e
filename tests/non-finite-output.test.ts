// Non-finite values produced during a forward (here by a hook edit) never become a token: greedy and sampled
// generation refuse NaN logits instead of returning argmax's index 0.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fileURLToPath } from 'node:url';
import { nodeGpu } from '../src/gpu/node';
import { Model } from '../src/engine/model';
import { folderFiles } from '../src/engine/files-node';

const STORIES = fileURLToPath(new URL('../../shared/models/stories260K', import.meta.url));

describe('non-finite logits in generation', () => {
  let model: Model;
  beforeAll(async () => {
    model = await Model.load(await nodeGpu(), folderFiles(STORIES), { dtype: 'f32' });
  });
  afterAll(() => model.dispose());
  const nan = [{ name: 'blocks.4.hook_resid_post', op: 'replace' as const, value: new Float32Array(64).fill(NaN) }];

  test('the forward itself returns the NaN logits (the caller sees them)', async () => {
    expect((await model.forward([1, 2], { hooks: nan })).logits!.every(Number.isNaN)).toBe(true);
  });

  test.each([
    ['greedy', { temperature: 0 }],
    ['sampled', { temperature: 0.8, topK: 10 }],
  ])('%s generation refuses instead of returning token 0', async (_, s) => {
    await expect(model.generate([1, 2], { maxNewTokens: 3, hooks: nan, ...s })).rejects.toThrow(/the logits hold NaN or \+Inf, so no token can be chosen/);
    // Without the edit the same call works.
    expect(await model.generate([1, 2], { maxNewTokens: 3, stop: [], ...s })).toHaveLength(3);
  });
});
