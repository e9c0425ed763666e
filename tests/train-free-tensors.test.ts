// Free trainable tensors: steering vectors at hook points and a soft prompt over the input embeddings,
// trained by the same Trainer as LoRA. Gradients against central finite differences of the float64
// reference (the same edits as plain hook specs); tolerance as in train-gradients:
// |engine − FD| ≤ 2e-3·max|FD| + 2e-5. The optimizer (all tensors in one flat update) against float64 AdamW
// with clipping and weight decay on the engine's gradients (|Δ| ≤ 2e-5 + 1e-5·|value|). Then short runs
// that lower the loss, and a checkpoint round trip.
import { beforeAll, describe, expect, test } from 'vitest';
import { nodeGpu } from '../src/gpu/node';
import { Model } from '../src/engine/model';
import { folderFiles } from '../src/engine/files-node';
import { softPrompt, steeringVector, type Trainable } from '../src/engine/free-tensors';
import { Trainer, lossGradients, nextTokenLabels, type TrainOptions } from '../src/engine/trainer';
import { decodeCheckpoint, encodeCheckpoint } from '../src/engine/checkpoint';
import type { HookSpec } from '../src/engine/hooks';
import { mulberry32, writeTinyModel, type TinyKind } from './fixtures/tiny-models';
import { loadRefModel, type RefModel } from './reference/reference';
import { referenceLoss } from './helpers/ref-loss';

const EPS = 1e-4;
const ids = [3, 17, 5, 42, 9, 0, 33];
const labels = nextTokenLabels(ids, 3);
const STEER_AT = [2, 4, 5];
const PROMPT_AT = [1, 2];

function randomRows(n: number, seed: number, scale = 0.5): Float32Array {
  const r = mulberry32(seed);
  return new Float32Array(n).map(() => (r() - 0.5) * 2 * scale);
}

describe.each(['llama-gqa', 'gpt2'] as TinyKind[])('%s', (kind) => {
  let model: Model;
  let ref: RefModel;
  beforeAll(async () => {
    const dir = writeTinyModel(kind);
    model = await Model.load(await nodeGpu(), folderFiles(dir));
    ref = loadRefModel(dir);
  });

  /** Two steering vectors (one on a fused residual branch) and a soft prompt, with their values on the host. */
  function tensors(): { trainables: Trainable[]; host: Float32Array[] } {
    const { rt } = model.parts;
    const D = model.config.hidden;
    const host = [randomRows(D, 1), randomRows(D, 2), randomRows(PROMPT_AT.length * D, 3)];
    const trainables = [
      steeringVector(rt, model.config, { hook: 'blocks.0.hook_resid_post', positions: STEER_AT, coeff: 0.7, init: host[0] }),
      steeringVector(rt, model.config, { hook: 'blocks.1.hook_attn_out', init: host[1] }),
      softPrompt(rt, model.config, { positions: PROMPT_AT, init: host[2] }),
    ];
    return { trainables, host };
  }

  /** The same edits as hook specs for the reference (the soft prompt as a full-size replace). */
  function refHooks(host: Float32Array[]): HookSpec[] {
    const D = model.config.hidden;
    const prompt = new Array(ids.length * D).fill(0);
    PROMPT_AT.forEach((p, j) => host[2].slice(j * D, (j + 1) * D).forEach((v, d) => (prompt[p * D + d] = v)));
    return [
      { name: 'hook_embed', op: 'replace', value: prompt, positions: PROMPT_AT },
      { name: 'blocks.0.hook_resid_post', op: 'add', value: Array.from(host[0]), positions: STEER_AT, coeff: 0.7 },
      { name: 'blocks.1.hook_attn_out', op: 'add', value: Array.from(host[1]) },
    ];
  }

  test('gradients of steering vectors and a soft prompt match finite differences of the reference', async () => {
    const { trainables, host } = tensors();
    const got = await lossGradients(model.parts, { ids, labels }, [{ name: 'hook_embed', op: 'grad' }], null, trainables);
    expect(Math.abs(got.loss - referenceLoss(ref, ids, labels, refHooks(host)))).toBeLessThan(1e-4);
    const rand = mulberry32(7);
    trainables.forEach((t, k) => {
      const g = got.grads[t.name];
      expect(g.length).toBe(t.n);
      const picks = Array.from({ length: 5 }, () => Math.floor(rand() * t.n));
      const fd = picks.map((at) => {
        const f = (e: number) => {
          const bumped = host.map((h) => h.slice());
          bumped[k][at] += e;
          return referenceLoss(ref, ids, labels, refHooks(bumped));
        };
        return (f(EPS) - f(-EPS)) / (2 * EPS);
      });
      const scale = Math.max(...fd.map(Math.abs));
      expect(scale, `${t.name} has a gradient`).toBeGreaterThan(1e-4);
      picks.forEach((at, i) => expect(Math.abs(g[at] - fd[i]), `${t.name}[${at}]: engine ${g[at]}, FD ${fd[i]}`).toBeLessThanOrEqual(2e-3 * scale + 2e-5));
    });
    // What the soft prompt overwrote gets no gradient; the other positions do.
    const D = model.config.hidden;
    const dEmbed = got.cache['hook_embed.grad'];
    for (const p of PROMPT_AT) expect(dEmbed.slice(p * D, (p + 1) * D).every((x) => x === 0)).toBe(true);
    expect(dEmbed.slice(0, D).some((x) => x !== 0)).toBe(true);
    trainables.forEach((t) => t.buf.destroy());
  });

  test('two clipped AdamW steps over every tensor at once equal float64 AdamW on the same gradients', async () => {
    const { trainables, host } = tensors();
    const o = { lr: 1e-2, maxGradNorm: 0.05, weightDecay: 0.1, beta1: 0.9, beta2: 0.99, eps: 1e-8 };
    const trainer = new Trainer(model.parts, trainables, o);
    const values = host.map((h) => Float64Array.from(h));
    const m1 = host.map((h) => new Float64Array(h.length));
    const m2 = host.map((h) => new Float64Array(h.length));
    for (let step = 1; step <= 2; step++) {
      const { grads } = await lossGradients(model.parts, { ids, labels }, [], null, trainables);
      const g = trainables.map((t) => grads[t.name]);
      const norm = Math.sqrt(g.reduce((a, x) => a + x.reduce((b, v) => b + v * v, 0), 0));
      const f = Math.min(1, o.maxGradNorm / norm);
      const r = await trainer.train([{ ids, labels }]);
      expect(Math.abs(r.gradNorm - norm)).toBeLessThan(1e-5 * norm);
      values.forEach((v, k) => {
        for (let i = 0; i < v.length; i++) {
          const gi = g[k][i] * f;
          m1[k][i] = o.beta1 * m1[k][i] + (1 - o.beta1) * gi;
          m2[k][i] = o.beta2 * m2[k][i] + (1 - o.beta2) * gi * gi;
          const ah = m1[k][i] / (1 - o.beta1 ** step);
          const bh = m2[k][i] / (1 - o.beta2 ** step);
          v[i] -= o.lr * (ah / (Math.sqrt(bh) + o.eps) + o.weightDecay * v[i]);
        }
      });
      const snap = await trainer.snapshot();
      snap.forEach((t, k) => t.value.forEach((x, i) => expect(Math.abs(x - values[k][i]), `${t.name}[${i}] step ${step}`).toBeLessThan(2e-5 + 1e-5 * Math.abs(values[k][i]))));
    }
    trainer.destroy();
    trainables.forEach((t) => t.buf.destroy());
  });

  test('AdamW (clipped, warmup + cosine) and SGD lower the loss; a checkpointed run resumes to the same tensors', async () => {
    const data = [{ ids, labels }];
    const opts: TrainOptions = { lr: 2e-2, maxGradNorm: 1, warmupSteps: 2, schedule: 'cosine', totalSteps: 30, weightDecay: 0.01 };
    for (const o of [opts, { ...opts, optimizer: 'sgd' as const, lr: 0.5 }]) {
      const { trainables } = tensors();
      const trainer = new Trainer(model.parts, trainables, o);
      const first = (await trainer.train(data)).loss;
      let last = first;
      for (let s = 1; s < 30; s++) last = (await trainer.train(data)).loss;
      expect(last, `${o.optimizer ?? 'adamw'}: ${first} -> ${last}`).toBeLessThan(0.7 * first);
      expect((await trainer.loss(data))[0]).toBeLessThan(first);
      trainer.destroy();
      trainables.forEach((t) => t.buf.destroy());
    }

    const run = async (steps: number, resumeFrom?: Uint8Array) => {
      const { trainables } = tensors();
      const trainer = new Trainer(model.parts, trainables, opts);
      if (resumeFrom) {
        const state = decodeCheckpoint(resumeFrom);
        trainer.restore(state.tensors, state.step);
      }
      while (trainer.step < steps) await trainer.train(data);
      const snap = await trainer.snapshot();
      trainer.destroy();
      trainables.forEach((t) => t.buf.destroy());
      return snap;
    };
    const whole = await run(8);
    const half = encodeCheckpoint({ step: 4, cursor: { epoch: 0, index: 0 }, settings: {}, tensors: await run(4) });
    const resumed = await run(8, half);
    expect(resumed.map((t) => t.name)).toEqual(['steer:blocks.0.hook_resid_post', 'steer:blocks.1.hook_attn_out', 'soft_prompt']);
    resumed.forEach((t, i) => expect(Array.from(t.value)).toEqual(Array.from(whole[i].value)));
  });
});
