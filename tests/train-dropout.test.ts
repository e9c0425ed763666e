// LoRA dropout (PEFT semantics: on the LoRA branch's input only, one mask per module, off at evaluation).
// The float64 reference applies the same masks, rebuilt on the CPU from the mask seed (dropoutMask mirrors
// the kernel's hash), so gradients are checked against central finite differences under that mask.
// Tolerance as in train-gradients: |engine − FD| ≤ 2e-3·max|FD| + 2e-5; losses within 1e-4.
import { beforeAll, describe, expect, test } from 'vitest';
import { nodeGpu } from '../src/gpu/node';
import { Model } from '../src/engine/model';
import { folderFiles } from '../src/engine/files-node';
import { memoryFiles } from '../src/engine/files';
import { LoraAdapter, allModules, dropoutMask, moduleDropoutSeed } from '../src/engine/lora';
import { exportPeft, importPeft } from '../src/engine/peft';
import { FinetuneRun, type FinetuneSettings } from '../src/engine/finetune';
import { lossGradients, nextTokenLabels } from '../src/engine/trainer';
import { mulberry32, writeTinyModel } from './fixtures/tiny-models';
import { loadRefModel, type RefLora, type RefModel } from './reference/reference';
import { referenceLoss } from './helpers/ref-loss';

const EPS = 1e-4;
const P = 0.3;
const SEED = 1234567;
const ids = [3, 17, 5, 42, 9, 0, 33];
const labels = nextTokenLabels(ids, 2);
const TARGETS = /q_proj|v_proj|o_proj|up_proj|down_proj|lm_head/;

describe('LoRA dropout on a tiny Llama', () => {
  let model: Model;
  let ref: RefModel;
  let lora: LoraAdapter;
  const host = new Map<string, { A: Float32Array; B: Float32Array; inDim: number }>();
  const rank = 4;
  beforeAll(async () => {
    const dir = writeTinyModel('llama-gqa');
    model = await Model.load(await nodeGpu(), folderFiles(dir));
    ref = loadRefModel(dir);
    lora = new LoraAdapter({ rank, alpha: 8, targets: ['q_proj', 'v_proj', 'o_proj', 'up_proj', 'down_proj', 'lm_head'], dropout: P });
    const rand = mulberry32(5);
    for (const m of allModules(model.config).filter((x) => TARGETS.test(x.name))) {
      const A = new Float32Array(rank * m.inDim).map(() => (rand() - 0.5) * 0.6);
      const B = new Float32Array(m.width * rank).map(() => (rand() - 0.5) * 0.6);
      lora.add(model.parts.rt, m.name, A, B, m.inDim, m.width);
      host.set(m.name, { A, B, inDim: m.inDim });
    }
  });

  const params = () =>
    [...lora.modules.values()].flatMap((m) => [
      { name: `${m.name}.A`, buf: m.A, n: m.rank * m.inDim },
      { name: `${m.name}.B`, buf: m.B, n: m.outDim * m.rank },
    ]);

  /** The reference with the adapter (and, given a seed, dropout's masks); `bump` moves one LoRA element. */
  function refWith(seed: number | null, bump?: { name: string; which: 'A' | 'B'; at: number; e: number }): RefModel {
    const l = new Map<string, RefLora>();
    for (const [name, h] of host) {
      const A = Float64Array.from(h.A);
      const B = Float64Array.from(h.B);
      if (bump?.name === name) (bump.which === 'A' ? A : B)[bump.at] += bump.e;
      const mask = seed === null ? undefined : dropoutMask(moduleDropoutSeed(seed, name), ids.length * h.inDim, P);
      l.set(name, { A, B, rank, scale: 8 / rank, mask });
    }
    return { ...ref, lora: l };
  }

  test('the CPU mirror of the mask drops about p of the elements and scales the rest by 1/(1−p)', () => {
    const mask = dropoutMask(moduleDropoutSeed(SEED, 'model.layers.0.mlp.down_proj'), 20000, P);
    const dropped = mask.filter((x) => x === 0).length / mask.length;
    expect(Math.abs(dropped - P)).toBeLessThan(0.015);
    expect(new Set(mask)).toEqual(new Set([0, Math.fround(1 / (1 - P))]));
    const other = dropoutMask(moduleDropoutSeed(SEED, 'model.layers.0.mlp.up_proj'), 20000, P);
    expect(Array.from(other)).not.toEqual(Array.from(mask));
  });

  test('with a mask seed, loss and LoRA gradients match finite differences of the reference under the same masks', async () => {
    const got = await lossGradients(model.parts, { ids, labels }, [], lora, params(), { dropoutSeed: SEED });
    const masked = referenceLoss(refWith(SEED), ids, labels);
    expect(Math.abs(got.loss - masked)).toBeLessThan(1e-4);
    // Dropout changes the loss: a test that ignored the mask would fail here.
    expect(Math.abs(masked - referenceLoss(refWith(null), ids, labels))).toBeGreaterThan(1e-3);
    const rand = mulberry32(21);
    for (const name of host.keys()) {
      for (const which of ['A', 'B'] as const) {
        const g = got.grads[`${name}.${which}`];
        const picks = Array.from({ length: 3 }, () => Math.floor(rand() * g.length));
        const fd = picks.map((at) => {
          const f = (e: number) => referenceLoss(refWith(SEED, { name, which, at, e }), ids, labels);
          return (f(EPS) - f(-EPS)) / (2 * EPS);
        });
        const scale = Math.max(...fd.map(Math.abs));
        picks.forEach((at, i) => expect(Math.abs(g[at] - fd[i]), `${name}.${which}[${at}]: engine ${g[at]}, FD ${fd[i]}`).toBeLessThanOrEqual(2e-3 * scale + 2e-5));
      }
    }
  });

  test('without a seed (evaluation, plain forward) dropout is off', async () => {
    const want = referenceLoss(refWith(null), ids, labels);
    expect(Math.abs((await lossGradients(model.parts, { ids, labels }, [], lora)).loss - want)).toBeLessThan(1e-4);
    const withDropout = await model.forward(ids, { lora });
    const off = new LoraAdapter({ ...lora.config, dropout: 0 });
    for (const m of lora.modules.values()) off.modules.set(m.name, m);
    expect(Array.from(withDropout.logits!)).toEqual(Array.from((await model.forward(ids, { lora: off })).logits!));
  });

  test('dropout 0 trains bit-identically to an adapter without dropout; lora_dropout survives the PEFT round trip', async () => {
    const data = [ids, [1, 2, 3, 4, 5, 6]].map((x) => ({ ids: x, labels: nextTokenLabels(x) }));
    const settings: FinetuneSettings = { lora: { rank: 4, alpha: 8, targets: ['q_proj', 'down_proj'] }, train: { lr: 5e-3 }, batchSize: 2, seed: 4 };
    const snap = async (s: FinetuneSettings) => {
      const run = new FinetuneRun(model, data, s);
      for (let i = 0; i < 3; i++) await run.next();
      const out = await run.trainer.snapshot();
      run.dispose();
      return out.map((t) => Array.from(t.value));
    };
    const plain = await snap(settings);
    expect(await snap({ ...settings, lora: { ...settings.lora, dropout: 0 } })).toEqual(plain);
    expect(await snap({ ...settings, lora: { ...settings.lora, dropout: 0.5 } })).not.toEqual(plain);

    const peft = await exportPeft(model.parts.rt, model.config, lora);
    expect(JSON.parse(peft['adapter_config.json']).lora_dropout).toBe(P);
    const again = await importPeft(model.parts.rt, model.config, memoryFiles('adapter', { ...peft }));
    expect(again.config.dropout).toBe(P);
    again.destroy();
    expect(() => new FinetuneRun(model, data, { ...settings, lora: { ...settings.lora, dropout: 1 } })).toThrow(/dropout must be in \[0, 1\)/);
  });
});
