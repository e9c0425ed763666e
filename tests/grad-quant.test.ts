// Gradients through frozen f16 / q8 / q4 (and row-split) weights: the dx kernel equals dC·W on the unpacked
// weights; on tiny q8 / q4 / f16 models the gradient at every hook point matches central finite differences of
// the float64 reference on the same dequantized weights (same tolerance as tests/train-gradients.test.ts);
// LoRA trains on a q8 base; training the quantized weight itself is refused.
import { beforeAll, describe, expect, test } from 'vitest';
import { nodeGpu } from '../src/gpu/node';
import { Pass, type Runtime } from '../src/gpu/runtime';
import { Model, runtimeFor } from '../src/engine/model';
import { folderFiles } from '../src/engine/files-node';
import { hookNames, hookShape } from '../src/engine/hooks';
import { lossGradients, nextTokenLabels } from '../src/engine/trainer';
import { FinetuneRun } from '../src/engine/finetune';
import { linearInputGrad } from '../src/engine/grad-quant';
import { uploadMatrix } from '../src/engine/packed-weights';
import { packMatrix, unpackMatrix, type WeightDtype } from '../src/engine/quant';
import { gaussian, mulberry32, writeTinyModel, type TinyKind } from './fixtures/tiny-models';
import { expectClose } from './helpers/close';
import { dequantizedRef } from './helpers/dequantized-ref';
import { referenceLoss } from './helpers/ref-loss';

function randn(n: number, seed: number, std = 1): Float32Array {
  const g = gaussian(seed);
  return Float32Array.from({ length: n }, () => std * g());
}

describe('dx kernel', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = runtimeFor(await nodeGpu());
  });

  test.each([
    ['f16', 1, 1 << 30],
    ['q8', 9, 1 << 30],
    ['q4', 9, 1 << 30],
    ['q8', 5, 1500], // split into parts: each adds its rows' share
    ['q4', 2, 1000],
    ['f32', 9, 3000], // plain f32 split by rows
  ] as [WeightDtype, number, number][])('%s, M=%i, parts ≤ %i bytes: dA = β·dA + dC·W on the unpacked weights', async (dt, M, maxBinding) => {
    const N = 37;
    const K = 172;
    const W = randn(N * K, 31, 0.1);
    const dC = randn(M * N, 32);
    const dA0 = randn(M * K, 33);
    const up = uploadMatrix(rt, W, N, K, dt, maxBinding, 'w');
    if (maxBinding < 1e6) expect(up.buffers.length).toBeGreaterThan(1);
    const Wq = dt === 'f32' ? W : unpackMatrix(packMatrix(dt, W, N, K));
    const want = new Float64Array(M * K);
    for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) want[m * K + k] += dC[m * N + n] * Wq[n * K + k];
    const pass = new Pass(rt);
    const dCb = rt.createStatic(dC);
    const set = pass.scratchBuffer(M * K * 4);
    const add = rt.createStatic(dA0);
    linearInputGrad(pass, M, K, N, dCb, up.handle, set, 0);
    linearInputGrad(pass, M, K, N, dCb, up.handle, add, 1);
    const gotSet = pass.read(set, M * K * 4);
    const gotAdd = pass.read(add, M * K * 4);
    await pass.submit();
    expectClose('dA (β = 0)', await gotSet, want);
    expectClose('dA (β = 1)', await gotAdd, want.map((v, i) => v + dA0[i]));
    up.buffers.forEach((b) => b.destroy());
    [dCb, add].forEach((b) => b.destroy());
  });
});

const EPS = 1e-4;
const ids = [3, 17, 5, 42, 9, 0, 33];
const labels = nextTokenLabels(ids, 2);

describe.each([
  ['llama-gqa', 'q8'],
  ['gpt2', 'q8'],
  ['llama-gqa', 'q4'],
  ['qwen2', 'f16'],
] as [TinyKind, WeightDtype][])('%s with %s weights', (kind, dt) => {
  test('the gradient at every hook point matches finite differences of the reference on the dequantized weights', async () => {
    const dir = writeTinyModel(kind);
    const model = await Model.load(await nodeGpu(), folderFiles(dir), { dtype: dt });
    const ref = dequantizedRef(dir, dt);
    const cfg = model.config;
    const names = hookNames(cfg).filter((n) => n !== 'logits' && hookShape(cfg, n, 1).layout === 'pos');
    const got = await lossGradients(model.parts, { ids, labels }, names.map((name) => ({ name, op: 'grad' as const })));
    expect(Math.abs(got.loss - referenceLoss(ref, ids, labels))).toBeLessThan(1e-4);
    const rand = mulberry32(12);
    for (const name of names) {
      const g = got.cache[`${name}.grad`];
      const picks = Array.from({ length: 4 }, () => Math.floor(rand() * g.length));
      const fd = picks.map((at) => {
        const bump = (e: number) => {
          const value = new Array(g.length).fill(0);
          value[at] = e;
          return referenceLoss(ref, ids, labels, [{ name, op: 'add', value }]);
        };
        return (bump(EPS) - bump(-EPS)) / (2 * EPS);
      });
      // As tests/train-gradients.test.ts: |engine − FD| ≤ 2e-3·max|FD| + 2e-5.
      const scale = Math.max(...fd.map(Math.abs));
      picks.forEach((at, i) => expect(Math.abs(g[at] - fd[i]), `${name} [${at}]: engine ${g[at]}, FD ${fd[i]}`).toBeLessThanOrEqual(2e-3 * scale + 2e-5));
    }
    model.dispose();
  });
});

test('LoRA trains on a q8 base (loss falls); training a q8 weight itself is refused', async () => {
  const model = await Model.load(await nodeGpu(), folderFiles(writeTinyModel('llama-gqa')), { dtype: 'q8' });
  const data = [{ ids, labels: nextTokenLabels(ids) }];
  const run = new FinetuneRun(model, data, { lora: { rank: 4, alpha: 8, targets: ['q_proj', 'v_proj', 'down_proj', 'lm_head'] }, train: { lr: 1e-2 }, batchSize: 1, seed: 1 });
  const first = (await run.next()).loss;
  let last = first;
  for (let s = 1; s < 20; s++) last = (await run.next()).loss;
  console.log(`LoRA on a q8 tiny Llama: loss ${first.toFixed(3)} -> ${last.toFixed(3)} in 20 steps`);
  expect(last).toBeLessThan(0.5 * first);
  run.dispose();
  const o = model.parts.w.blocks[0].o;
  await expect(lossGradients(model.parts, { ids, labels }, [], null, [{ name: 'o', buf: o.w, n: o.out * o.in }])).rejects.toThrow(/training model\.layers\.0\.self_attn\.o_proj needs it as plain f32, but it is q8/);
  model.dispose();
});
