// Gradients of the WGSL backward against central finite differences of the float64 reference:
// at every hook point (which checks each backward kernel in turn, from the loss down to the
// embeddings), for LoRA matrices on every kind of module, and for fully fine-tuned weights.
// Tolerance: |engine - FD| ≤ 2e-3·max|FD over the tensor's samples| + 2e-5 (f32 backward vs
// float64 differences with step 1e-4, whose own error is ~1e-8).
import { beforeAll, describe, expect, test } from 'vitest';
import { nodeGpu } from '../src/gpu/node';
import { Model } from '../src/engine/model';
import { folderFiles } from '../src/engine/files-node';
import { hookNames, hookShape, type HookSpec } from '../src/engine/hooks';
import { LoraAdapter, allModules } from '../src/engine/lora';
import { lossGradients, nextTokenLabels } from '../src/engine/trainer';
import { mulberry32, writeTinyModel, type TinyKind } from './fixtures/tiny-models';
import { loadRefModel, type RefModel } from './reference/reference';
import { referenceLoss } from './helpers/ref-loss';

const EPS = 1e-4;
const ids = [3, 17, 5, 42, 9, 0, 33];
const labels = nextTokenLabels(ids, 2);

function refLoss(ref: RefModel, hooks: HookSpec[] = []): number {
  return referenceLoss(ref, ids, labels, hooks);
}

function expectGradClose(label: string, got: number[], fd: number[]): void {
  const scale = Math.max(...fd.map(Math.abs));
  got.forEach((g, i) => expect(Math.abs(g - fd[i]), `${label} sample ${i}: engine ${g}, FD ${fd[i]}`).toBeLessThanOrEqual(2e-3 * scale + 2e-5));
}

/** The reference model with tensor `name` replaced by f(old). */
function withTensor(ref: RefModel, name: string, f: (old: Float64Array) => Float64Array): RefModel {
  const tensors = new Map(ref.tensors);
  tensors.set(name, f(Float64Array.from(ref.tensors.get(name)!)));
  return { ...ref, tensors };
}

describe.each(['llama-gqa', 'gpt2', 'qwen2', 'llama-wide-heads'] as TinyKind[])('%s', (kind) => {
  let model: Model;
  let ref: RefModel;
  beforeAll(async () => {
    const dir = writeTinyModel(kind);
    model = await Model.load(await nodeGpu(), folderFiles(dir));
    ref = loadRefModel(dir);
  });

  test('loss matches the reference, and the gradient at every hook point matches finite differences', async () => {
    const cfg = model.config;
    const names = hookNames(cfg).filter((n) => n !== 'logits' && hookShape(cfg, n, 1).layout === 'pos');
    const got = await lossGradients(model.parts, { ids, labels }, names.map((name) => ({ name, op: 'grad' as const })));
    expect(Math.abs(got.loss - refLoss(ref))).toBeLessThan(1e-4);
    const rand = mulberry32(11);
    for (const name of names) {
      const width = hookShape(cfg, name, ids.length).dims.slice(1).reduce((a, b) => a * b, 1);
      const g = got.cache[`${name}.grad`];
      expect(g.length, name).toBe(ids.length * width);
      const picks = Array.from({ length: 4 }, () => Math.floor(rand() * g.length));
      const fd = picks.map((at) => {
        const bump = (e: number) => {
          const value = new Array(ids.length * width).fill(0);
          value[at] = e;
          return refLoss(ref, [{ name, op: 'add', value }]);
        };
        return (bump(EPS) - bump(-EPS)) / (2 * EPS);
      });
      expectGradClose(name, picks.map((at) => g[at]), fd);
    }
  });

  test('LoRA gradients on every module kind match finite differences of the merged weights', async () => {
    const cfg = model.config;
    const rank = 4;
    const lora = new LoraAdapter({ rank, alpha: 8, targets: ['q_proj', 'v_proj', 'o_proj', 'up_proj', 'down_proj', 'c_attn', 'c_proj', 'c_fc', 'lm_head'] });
    const rand = mulberry32(5);
    const mods = allModules(cfg).filter((m) => /q_proj|v_proj|o_proj|up_proj|down_proj|c_attn|c_proj|c_fc|lm_head/.test(m.name));
    const host = new Map<string, { A: Float32Array; B: Float32Array }>();
    for (const m of mods) {
      const A = new Float32Array(rank * m.inDim).map(() => (rand() - 0.5) * 0.6);
      const B = new Float32Array(m.width * rank).map(() => (rand() - 0.5) * 0.6);
      lora.add(model.parts.rt, m.name, A, B, m.inDim, m.width);
      host.set(m.name, { A, B });
    }
    const params = [...lora.modules.values()].flatMap((m) => [
      { name: `${m.name}.A`, buf: m.A, n: m.rank * m.inDim },
      { name: `${m.name}.B`, buf: m.B, n: m.outDim * m.rank },
    ]);
    const got = await lossGradients(model.parts, { ids, labels }, [], lora, params);
    const scale = 8 / rank;
    // The reference with every adapter merged: W += scale · B · A (GPT-2's Conv1D stores Wᵀ).
    // A tied lm_head gets its own copy of the embedding so its adapter can be merged.
    const untied: RefModel = cfg.tiedEmbeddings ? { ...ref, config: { ...ref.config, tiedEmbeddings: false }, tensors: new Map(ref.tensors) } : ref;
    if (cfg.tiedEmbeddings) {
      const embedName = cfg.arch === 'gpt2' ? 'transformer.wte.weight' : 'model.embed_tokens.weight';
      untied.tensors.set('lm_head.weight', ref.tensors.get(embedName)!);
      untied.shapes = new Map(ref.shapes).set('lm_head.weight', ref.shapes.get(embedName)!);
    }
    const merged = (override?: { name: string; which: 'A' | 'B'; at: number; e: number }) => {
      let r = untied;
      for (const m of mods) {
        const h = host.get(m.name)!;
        const A = Float64Array.from(h.A);
        const B = Float64Array.from(h.B);
        if (override?.name === m.name) (override.which === 'A' ? A : B)[override.at] += override.e;
        const tname = `${m.name}.weight`;
        const conv = cfg.arch === 'gpt2' && m.name !== 'lm_head';
        r = withTensor(r, tname, (W) => {
          for (let o = 0; o < m.width; o++) {
            for (let i = 0; i < m.inDim; i++) {
              let d = 0;
              for (let j = 0; j < rank; j++) d += B[o * rank + j] * A[j * m.inDim + i];
              W[conv ? i * m.width + o : o * m.inDim + i] += scale * d;
            }
          }
          return W;
        });
      }
      return r;
    };
    expect(Math.abs(got.loss - refLoss(merged()))).toBeLessThan(1e-4);
    for (const m of mods) {
      for (const which of ['A', 'B'] as const) {
        const g = got.grads[`${m.name}.${which}`];
        const picks = Array.from({ length: 3 }, () => Math.floor(rand() * g.length));
        const fd = picks.map((at) => (refLoss(merged({ name: m.name, which, at, e: EPS })) - refLoss(merged({ name: m.name, which, at, e: -EPS }))) / (2 * EPS));
        expectGradClose(`${m.name}.${which}`, picks.map((at) => g[at]), fd);
      }
    }
    lora.destroy();
  });

  test('full fine-tuning gradients of a linear weight and a norm weight match finite differences', async () => {
    const cfg = model.config;
    const w = model.parts.w;
    const b = w.blocks[1];
    const params = [
      { name: 'o', buf: b.o.w, n: b.o.out * b.o.in },
      { name: 'ln2', buf: b.ln2.buf, n: cfg.norm === 'layernorm' ? 2 * cfg.hidden : cfg.hidden },
    ];
    const got = await lossGradients(model.parts, { ids, labels }, [], null, params);
    const rand = mulberry32(9);
    const gpt2 = cfg.arch === 'gpt2';
    const oName = gpt2 ? 'transformer.h.1.attn.c_proj.weight' : 'model.layers.1.self_attn.o_proj.weight';
    const lnName = gpt2 ? 'transformer.h.1.ln_2.weight' : 'model.layers.1.post_attention_layernorm.weight';
    const check = (label: string, g: Float32Array, tensor: string, index: (at: number) => number) => {
      const picks = Array.from({ length: 4 }, () => Math.floor(rand() * Math.min(g.length, cfg.hidden * (label === 'o' ? b.o.in : 1))));
      const fd = picks.map((at) => {
        const f = (e: number) => refLoss(withTensor(ref, tensor, (W) => ((W[index(at)] += e), W)));
        return (f(EPS) - f(-EPS)) / (2 * EPS);
      });
      expectGradClose(label, picks.map((at) => g[at]), fd);
    };
    // Engine o weight is [out, in]; GPT-2's Conv1D tensor is [in, out].
    check('o', got.grads.o, oName, (at) => (gpt2 ? (at % b.o.in) * b.o.out + Math.floor(at / b.o.in) : at));
    check('ln2', got.grads.ln2, lnName, (at) => at);
  });
});

describe('seeded gradients (a gradient from another model enters through a hook)', () => {
  test('seeding g at an activation gives the parameter gradients of ⟨g, activation⟩, and chains like the full loss', async () => {
    const dir = writeTinyModel('llama-gqa');
    const model = await Model.load(await nodeGpu(), folderFiles(dir));
    const cfg = model.config;
    const b = model.parts.w.blocks[0];
    const params = [{ name: 'up', buf: b.up.w, n: b.up.out * b.up.in }];
    const name = 'blocks.1.hook_resid_pre';
    // Reference: the gradient of the full loss at the hook, then its parameter gradients.
    const full = await lossGradients(model.parts, { ids, labels }, [{ name, op: 'grad' }], null, params);
    const g = full.cache[`${name}.grad`];
    // Seeding that gradient at the hook (no labels) must give the same parameter gradients.
    const seeded = await lossGradients(model.parts, { ids, labels: ids.map(() => -1), hooks: [{ name, op: 'seed', value: g }] }, [], null, params);
    expectGradClose('seeded up-proj gradient', Array.from(seeded.grads.up), Array.from(full.grads.up));
    expect(seeded.loss).toBe(0);
    expect(cfg.nLayers).toBe(2);
    model.dispose();
  });
});
