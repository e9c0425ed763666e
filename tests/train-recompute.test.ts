// Activation recomputation: a block's forward recorded again in its backward gives bit-identical
// gradients (same kernels on the same inputs, LoRA dropout masks redrawn from the same seed), and the
// step's reported peak GPU bytes fall because the blocks' intermediates are recycled.
import { describe, expect, test } from 'vitest';
import { fileURLToPath } from 'node:url';
import { nodeGpu } from '../src/gpu/node';
import { Model } from '../src/engine/model';
import { folderFiles } from '../src/engine/files-node';
import { LoraAdapter } from '../src/engine/lora';
import { softPrompt } from '../src/engine/free-tensors';
import { FinetuneRun, type FinetuneSettings } from '../src/engine/finetune';
import { lossGradients, nextTokenLabels } from '../src/engine/trainer';
import type { HookSpec } from '../src/engine/hooks';
import { mulberry32, writeTinyModel, type TinyKind } from './fixtures/tiny-models';

const STORIES = fileURLToPath(new URL('../../shared/models/stories260K', import.meta.url));

describe.each(['llama-gqa', 'gpt2'] as TinyKind[])('%s', (kind) => {
  test('gradients with and without recomputation are identical (LoRA with dropout, a norm weight, a soft prompt, hooks)', async () => {
    const model = await Model.load(await nodeGpu(), folderFiles(writeTinyModel(kind)));
    const { rt } = model.parts;
    const cfg = model.config;
    const lora = LoraAdapter.create(rt, cfg, { rank: 4, alpha: 8, targets: ['q_proj', 'v_proj', 'o_proj', 'down_proj', 'c_attn', 'c_fc', 'lm_head'], dropout: 0.2 }, 3);
    // B starts at zero; give it values so every LoRA path carries a gradient.
    const rand = mulberry32(2);
    for (const m of lora.modules.values()) rt.write(m.B, new Float32Array(m.outDim * m.rank).map(() => rand() - 0.5));
    const prompt = softPrompt(rt, cfg, { positions: [1], init: new Float32Array(cfg.hidden).map(() => rand() - 0.5) });
    const ln = model.parts.w.blocks[1].ln2;
    const params = [
      ...[...lora.modules.values()].flatMap((m) => [
        { name: `${m.name}.A`, buf: m.A, n: m.rank * m.inDim },
        { name: `${m.name}.B`, buf: m.B, n: m.outDim * m.rank },
      ]),
      { name: 'ln2', buf: ln.buf, n: cfg.norm === 'layernorm' ? 2 * cfg.hidden : cfg.hidden },
      prompt,
    ];
    const ids = [3, 17, 5, 42, 9, 0, 33, 12];
    const ex = { ids, labels: nextTokenLabels(ids) };
    // A block with a hook is kept whole; the others are recomputed.
    for (const hooks of [[], [{ name: 'blocks.1.hook_resid_mid', op: 'grad' }]] as HookSpec[][]) {
      const kept = await lossGradients(model.parts, ex, hooks, lora, params, { dropoutSeed: 99 });
      const again = await lossGradients(model.parts, ex, hooks, lora, params, { dropoutSeed: 99, recompute: true });
      expect(again.loss).toBe(kept.loss);
      expect(Object.keys(again.grads)).toEqual(Object.keys(kept.grads));
      for (const [name, g] of Object.entries(kept.grads)) {
        expect(g.some((x) => x !== 0), `${name} has a gradient`).toBe(true);
        expect(Array.from(again.grads[name]), name).toEqual(Array.from(g));
      }
      for (const [name, c] of Object.entries(kept.cache)) expect(Array.from(again.cache[name]), name).toEqual(Array.from(c));
    }
    lora.destroy();
    prompt.buf.destroy();
    model.dispose();
  });
});

describe('recomputation on stories260K', () => {
  test('training steps are bit-identical with recomputation, and the reported peak is lower', async () => {
    const model = await Model.load(await nodeGpu(), folderFiles(STORIES));
    const rand = mulberry32(3);
    const data = [0, 1].map(() => {
      const ids = [1, ...Array.from({ length: 63 }, () => 3 + Math.floor(rand() * 500))];
      return { ids, labels: nextTokenLabels(ids) };
    });
    const settings: FinetuneSettings = {
      lora: { rank: 8, alpha: 16, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'], dropout: 0.1 },
      train: { lr: 1e-2, maxGradNorm: 1 },
      batchSize: 2,
      seed: 1,
    };
    const steps = async (recompute: boolean) => {
      const run = new FinetuneRun(model, data, { ...settings, train: { ...settings.train, recompute } });
      const peaks: number[] = [];
      for (let s = 0; s < 3; s++) peaks.push((await run.next()).peakBytes);
      const snap = await run.trainer.snapshot();
      run.dispose();
      return { peaks, values: snap.map((t) => Array.from(t.value)) };
    };
    const kept = await steps(false);
    const recomputed = await steps(true);
    console.log(`stories260K, 2 × 64 tokens, LoRA r=8: peak ${(kept.peaks[0] / 2 ** 20).toFixed(2)} MB kept, ${(recomputed.peaks[0] / 2 ** 20).toFixed(2)} MB recomputed`);
    expect(recomputed.values).toEqual(kept.values);
    expect(recomputed.peaks[0]).toBeLessThan(0.75 * kept.peaks[0]);
    model.dispose();
  }, 300_000);
});
