// `latentlab premem run` on the shipped toy-s model (one configuration, one epoch, a few questions): the runs are
// written in the authors' layout, read back by the same analysis, and each checkpoint's gold-solution perplexity
// (the engine's batched log-probs) equals the one computed from a plain forward's logits on the CPU.
import { afterAll, expect, test } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeGpu } from '../src/gpu/node';
import { Model } from '../src/engine/model';
import { Tokenizer } from '../src/engine/tokenizer';
import { folderFiles } from '../src/engine/files-node';
import { FinetuneRun } from '../src/engine/finetune';
import { nextTokenLabels } from '../src/engine/trainer';
import { prememCommand, prememRun, folderBlobs } from '../src/cli/premem';
import { readNpy } from '../src/methods/premem/npy';
import { promptText, targetText, toyTask } from '../src/methods/premem/toy-runs';

const TOY_S = 'public/models/toy-s';
const out = mkdtempSync(join(tmpdir(), 'premem-toy-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

async function loaded() {
  const files = folderFiles(TOY_S);
  return { model: await Model.load(await nodeGpu(), files), tokenizer: await Tokenizer.load(files), lora: null };
}

test('premem run writes the authors’ layout, and the analysis reads it back', async () => {
  const l = await loaded();
  try {
    const args = { model: TOY_S, configs: '2e-3:2', out, 'n-train': '4', 'n-test': '3', k: '2', 'batch-size': '2', 'max-new-tokens': '40', threshold: '-2.3', quiet: true };
    const r = (await prememRun(args, l)) as { n_points: number; points: { step: number; premem: number; train_accuracy: number; test_accuracy: number }[]; sweep: unknown[] };
    expect(r.n_points).toBe(2);
    expect(r.points.map((p) => p.step)).toEqual([2, 4]);
    expect(r.sweep.length).toBeGreaterThan(0);
    const files = await folderBlobs(out);
    const run = 'toy_arith_2epochs_full_lr0.002_bs2';
    const arr = async (p: string) => readNpy(p, new Uint8Array(await files[`${run}/${p}`].arrayBuffer()));
    expect((await arr('checkpoint-2/train_correct.npy')).shape).toEqual([4, 2]);
    expect((await arr('checkpoint-2/test_correct.npy')).shape).toEqual([3, 2]);
    const ppl = await arr('checkpoint-4/train_perplexities.npy');
    expect(ppl).toMatchObject({ dtype: 'float32', shape: [4] });
    for (const v of ppl.data as Float32Array) expect(v).toBeGreaterThan(1);
    // the same folder through `premem analyze` gives the same points
    const again = (await prememCommand(['analyze'], { data: out, dataset: 'toy', threshold: '-2.3', quiet: true })) as typeof r;
    expect(again.points).toEqual(r.points);

    // an independent perplexity: retrain the same run (same seed, same data order) and score example 0 from a plain
    // forward's logits, log-softmax in float64
    const task = toyTask(0, 4, 3);
    const tok = l.tokenizer!;
    const enc = (s: string) => tok.encode(s, { addSpecialTokens: false });
    const full = task.train.map((p) => [...enc(promptText(p)), ...enc(' ' + targetText(p))]);
    const from = enc(promptText(task.train[0])).length;
    l.model.parts.rope?.covering(Math.max(...full.map((x) => x.length)));
    const fr = new FinetuneRun(l.model, full.map((ids, i) => ({ ids, labels: nextTokenLabels(ids, enc(promptText(task.train[i])).length) })), {
      lora: { rank: 8, alpha: 16, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] },
      train: { lr: 2e-3, schedule: 'linear', totalSteps: 4, weightDecay: 0.01, maxGradNorm: 2 },
      batchSize: 2,
      seed: 0,
    });
    try {
      for (let s = 0; s < 4; s++) await fr.next();
      const { logits } = await l.model.forward(full[0], { logits: 'all', lora: fr.lora });
      const V = l.model.config.vocab;
      let sum = 0;
      for (let t = from; t < full[0].length; t++) {
        const row = logits!.subarray((t - 1) * V, t * V);
        const m = Math.max(...row);
        const lse = m + Math.log(row.reduce((a, x) => a + Math.exp(x - m), 0));
        sum += row[full[0][t]] - lse;
      }
      const want = Math.exp(-sum / (full[0].length - from));
      expect(Math.abs((ppl.data as Float32Array)[0] - want) / want).toBeLessThan(1e-3);
    } finally {
      fr.dispose();
    }
  } finally {
    l.model.dispose();
  }
}, 900_000);

test('premem run refuses bad configurations before training', async () => {
  const l = await loaded();
  try {
    await expect(prememRun({ model: TOY_S, configs: '0:2', out }, l)).rejects.toThrow(/learning rate must be a finite number > 0, got 0/);
    await expect(prememRun({ model: TOY_S, configs: '1e-3:0', out }, l)).rejects.toThrow(/epochs must be a whole number ≥ 1, got 0/);
    await expect(prememRun({ model: TOY_S, configs: '1e-3:1', out, k: '0' }, l)).rejects.toThrow(/k must be a whole number ≥ 1, got 0/);
    await expect(prememRun({ model: TOY_S, configs: '1e-3:1', out, epochs: '3' }, l)).rejects.toThrow(/no flag --epochs/);
  } finally {
    l.model.dispose();
  }
});
