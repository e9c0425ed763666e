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

const ATOL = 2e-4;
const RTOL = 2e-4;

export function expectClose(name: string, got: ArrayLike<number>, want: ArrayLike<number>, atol = ATOL, rtol = RTOL): void {
  expect(got.length, `${name}: length`).toBe(want.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < want.length; i++) {
    const w = want[i];
    const g = got[i];
    if (w === -Infinity || g === -Infinity) {
      expect(g, `${name}[${i}]`).toBe(w);
      continue;
    }
    const excess = Math.abs(g - w) - (atol + rtol * Math.abs(w));
    if (!(excess <= worst)) {
      worst = Number.isNaN(excess) ? Infinity : excess;
      at = i;
    }
  }
  expect(worst, `${name}: worst element ${at}: got ${got[at]}, want ${want[at]}`).toBeLessThanOrEqual(0);
}

const ids = [3, 17, 5, 42, 9, 0, 63, 12, 8];
const kinds = TINY_KINDS.filter((k) => k !== 'bench-llama');

describe.each(kinds)('%s', (kind) => {
  test('every hook point and the logits match the float64 reference', async () => {
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
