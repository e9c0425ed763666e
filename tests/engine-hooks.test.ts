// Hook edits (patch, steer, ablate) against the float64 reference, and the identities the
// methods rely on: patching a whole cached activation reproduces the source run; adding zero changes nothing.
import { beforeAll, describe, expect, test } from 'vitest';
import { nodeGpu } from '../src/gpu/node';
import { Model } from '../src/engine/model';
import { folderFiles } from '../src/engine/files-node';
import type { HookSpec } from '../src/engine/hooks';
import { writeTinyModel, type TinyKind } from './fixtures/tiny-models';
import { loadRefModel, referenceForward, type RefModel } from './reference/reference';
import { expectClose } from './helpers/close';

const A = [3, 17, 5, 42, 9, 0, 63, 12];
const B = [8, 2, 33, 7, 21, 50, 1, 4];

function row(n: number, seed: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.sin(seed * 7.1 + i * 1.3));
}

describe.each(['llama-gqa', 'gpt2', 'qwen2'] as TinyKind[])('%s', (kind) => {
  let model: Model;
  let ref: RefModel;
  beforeAll(async () => {
    const dir = writeTinyModel(kind);
    model = await Model.load(await nodeGpu(), folderFiles(dir));
    ref = loadRefModel(dir);
  });

  test("patching A's resid_pre into B at every position reproduces A's logits", async () => {
    const name = 'blocks.1.hook_resid_pre';
    const a = await model.forward(A, { hooks: [{ name, op: 'read' }] });
    const b = await model.forward(B, { hooks: [{ name, op: 'replace', value: a.cache[name] }] });
    expectClose('patched logits', b.logits!, a.logits!, 1e-5, 1e-5);
  });

  test('adding a zero vector changes nothing', async () => {
    const plain = await model.forward(A);
    const D = model.config.hidden;
    const hooks: HookSpec[] = [0, 1].map((i) => ({ name: `blocks.${i}.hook_resid_post`, op: 'add', value: new Array(D).fill(0), coeff: 3 }));
    const steered = await model.forward(A, { hooks });
    expect(Array.from(steered.logits!)).toEqual(Array.from(plain.logits!));
  });

  test('edits match the reference: mean-ablation, steering, head-restricted patches, attention-map edits', async () => {
    const cfg = model.config;
    const D = cfg.hidden;
    const T = A.length;
    const qw = cfg.nHeads * cfg.headDim;
    const mapSize = cfg.nHeads * T * T;
    const cases: HookSpec[][] = [
      [{ name: 'blocks.0.hook_attn_out', op: 'mean', value: row(D, 1), positions: [1, 3] }],
      [{ name: 'blocks.1.hook_resid_mid', op: 'add', value: row(D, 2), coeff: 4, positions: [5] }],
      [{ name: 'blocks.0.attn.hook_q', op: 'replace', value: row(T * qw, 3), heads: [1] }],
      [{ name: 'blocks.0.attn.hook_v', op: 'zero', heads: [0] }],
      [{ name: 'blocks.1.attn.hook_z', op: 'zero', heads: [2], positions: [6, 7] }],
      [{ name: 'blocks.0.attn.hook_pattern', op: 'zero', heads: [1, 3] }],
      [{ name: 'blocks.1.attn.hook_attn_scores', op: 'add', value: row(mapSize, 4), coeff: 0.5 }],
      [{ name: 'blocks.0.mlp.hook_post', op: 'mean', value: row(cfg.intermediate, 5) }],
      [{ name: 'blocks.0.mlp.hook_pre', op: 'zero', positions: [0, 2] }],
      [{ name: 'hook_embed', op: 'add', value: row(D, 6) }],
      [{ name: 'blocks.1.hook_mlp_out', op: 'zero' }, { name: 'blocks.1.hook_resid_post', op: 'read' }],
      [
        { name: 'blocks.0.hook_resid_post', op: 'read' },
        { name: 'blocks.0.hook_resid_post', op: 'add', value: row(D, 7) },
        { name: 'ln_final.hook_normalized', op: 'read' },
      ],
    ];
    if (cfg.gatedMlp) cases.push([{ name: 'blocks.1.mlp.hook_pre_linear', op: 'add', value: row(cfg.intermediate, 8), coeff: -1 }]);
    if (cfg.arch === 'gpt2') cases.push([{ name: 'hook_pos_embed', op: 'zero', positions: [4] }]);
    for (const hooks of cases) {
      const label = hooks.map((h) => `${h.name}:${h.op}`).join(' ');
      const got = await model.forward(A, { hooks });
      const want = referenceForward(ref, A, hooks);
      expectClose(`${label} logits`, got.logits!, want.logits);
      for (const [name, value] of want.cache) expectClose(`${label} ${name}`, got.cache[name], value);
    }
  });

  test('bad hooks are refused with the problem named', async () => {
    const D = model.config.hidden;
    await expect(model.forward(A, { hooks: [{ name: 'blocks.9.hook_resid_pre', op: 'read' }] })).rejects.toThrow(/unknown hook point "blocks.9.hook_resid_pre"/);
    await expect(model.forward(A, { hooks: [{ name: 'blocks.0.hook_resid_pre', op: 'add', value: [1, 2, 3] }] })).rejects.toThrow(/value has 3 numbers, expected 32/);
    await expect(model.forward(A, { hooks: [{ name: 'blocks.0.attn.hook_z', op: 'zero', heads: [99] }] })).rejects.toThrow(/head 99 is out of range/);
    await expect(model.forward(A, { hooks: [{ name: 'blocks.0.hook_resid_pre', op: 'zero', heads: [0] }] })).rejects.toThrow(/no head axis/);
    await expect(model.forward([1, 2, 999])).rejects.toThrow(/token id 999 is outside the vocabulary/);
    await expect(model.forward([])).rejects.toThrow(/at least one token/);
    expect(D).toBe(32);
  });
});
