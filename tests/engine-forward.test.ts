// The WGSL engine against the float64 CPU reference: every hook point and the logits, for each
// architecture's tiny random model. f32 tolerance: |engine - reference| ≤ 2e-4 + 2e-4·|reference|
// (accumulation in f32 over dims ≤ 256; the reference is float64).
import { describe, expect, test } from 'vitest';
import { nodeGpu } from '../src/gpu/node';
import { Model } from '../src/engine/model';
import { folderFiles } from '../src/engine/files-node';
import { hookNames } from '../src/engine/hooks';
import { TINY_KINDS, writeTinyModel } from './fixtures/tiny-models';
import { loadRefModel, referenceForward } from './reference/reference';
import { expectClose } from './helpers/close';

// 9 positions run the thread-per-row attention kernel; 3 positions the workgroup kernel used for decoding.
const inputs = { long: [3, 17, 5, 42, 9, 0, 63, 12, 8], short: [7, 1, 44] };
const kinds = TINY_KINDS.filter((k) => k !== 'bench-llama');

describe.each(kinds)('%s', (kind) => {
  test.each(Object.entries(inputs))('every hook point and the logits match the float64 reference (%s input)', async (_, ids) => {
    const dir = writeTinyModel(kind);
    const model = await Model.load(await nodeGpu(), folderFiles(dir));
    const names = hookNames(model.config);
    const got = await model.forward(ids, { hooks: names.map((name) => ({ name, op: 'read' as const })) });
    const want = referenceForward(loadRefModel(dir), ids, []);
    const wantAll = referenceForward(loadRefModel(dir), ids, names.map((name) => ({ name, op: 'read' as const })));
    for (const name of names) expectClose(name, got.cache[name], wantAll.cache.get(name)!);
    expectClose('logits', got.logits!, want.logits);
    model.dispose();
  });
});
