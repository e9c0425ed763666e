// Full fine-tuning end to end on tiny models: the loss falls; a checkpointed run resumes bit-identically; the
// saved Hugging Face folder loads again with identical logits; tied embeddings stay tied; the delta is exactly
// saved − base; dispose() gives the base model back; quantized bases, bad choices of weights and nonsense
// settings are refused by name; a diverging or NaN run stops at the step and writes nothing non-finite.
import { beforeAll, describe, expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '../src/engine/tokenizer';
import { join } from 'node:path';
import { nodeGpu } from '../src/gpu/node';
import { Model } from '../src/engine/model';
import { folderFiles } from '../src/engine/files-node';
import { memoryFiles } from '../src/engine/files';
import { FinetuneRun, FullFinetuneRun, exportHfModel, resumeRun, type FullFinetuneSettings } from '../src/engine/finetune';
import { encodeCheckpoint } from '../src/engine/checkpoint';
import { exportPeft } from '../src/engine/peft';
import { nextTokenLabels } from '../src/engine/trainer';
import { parseSafetensors, tensorToFloat32 } from '../src/engine/safetensors';
import { weightTensors } from '../src/engine/weight-tensors';
import { writeTinyModel, type TinyKind } from './fixtures/tiny-models';

const data = [[3, 17, 5, 42, 9, 0, 33, 12], [1, 2, 3, 4, 5, 6], [60, 50, 40, 30, 20], [7, 7, 8, 8, 9, 9, 10]].map((x) => ({ ids: x, labels: nextTokenLabels(x) }));
const probe = [3, 17, 5, 42, 9];

function settings(weights: string[], extra: Partial<FullFinetuneSettings['train']> = {}): FullFinetuneSettings {
  return { weights, train: { lr: 3e-3, warmupSteps: 2, schedule: 'cosine', totalSteps: 8, maxGradNorm: 1, weightDecay: 0.01, ...extra }, batchSize: 2, seed: 5 };
}

function tensorsOf(bytes: Uint8Array): Map<string, Float32Array> {
  const st = parseSafetensors(bytes);
  return new Map([...st.tensors].map(([name, info]) => [name, tensorToFloat32(bytes, info, st.dataOffset)]));
}

async function logits(model: Model): Promise<number[]> {
  return Array.from((await model.forward(probe)).logits!);
}

describe.each(['llama-gqa', 'llama-tied', 'gpt2'] as TinyKind[])('%s', (kind) => {
  let dir: string;
  let model: Model;
  beforeAll(async () => {
    dir = writeTinyModel(kind);
    model = await Model.load(await nodeGpu(), folderFiles(dir), { dtype: 'f32' });
  });

  test('every weight: the loss falls, the saved folder reloads with identical logits, the delta is saved − base, dispose restores the base', async () => {
    const before = await logits(model);
    const run = new FullFinetuneRun(model, data, settings(['*']));
    expect(run.tensors.length).toBe(weightTensors(model.config, model.parts.w).length);
    const losses: number[] = [];
    for (let s = 0; s < 8; s++) losses.push((await run.next()).loss);
    expect(Math.min(...losses.slice(-2))).toBeLessThan(losses[0]);
    const trained = await logits(model);
    expect(trained).not.toEqual(before);

    const files = await exportHfModel(model, folderFiles(dir));
    const again = await Model.load(await nodeGpu(), memoryFiles('saved', files), { dtype: 'f32' });
    expect(await logits(again)).toEqual(trained);
    const config = JSON.parse(new TextDecoder().decode(files['config.json']));
    const saved = tensorsOf(files['model.safetensors']);
    const base = tensorsOf(new Uint8Array(readFileSync(join(dir, 'model.safetensors'))));
    expect(config.torch_dtype).toBe('float32');
    // Tied stays tied: one table, no lm_head tensor, the config unchanged on the point.
    const tied = model.config.tiedEmbeddings;
    expect(config.tie_word_embeddings ?? true).toBe(tied);
    expect(saved.has('lm_head.weight')).toBe(!tied);
    expect(again.parts.w.lmHead === again.parts.w.embed).toBe(tied);
    // Every base tensor is saved, under its own name and shape.
    for (const [name, values] of base) expect(saved.get(name)?.length, name).toBe(values.length);

    const delta = tensorsOf(await run.delta());
    expect([...delta.keys()].sort()).toEqual([...saved.keys()].sort());
    for (const [name, d] of delta) {
      const s = saved.get(name)!;
      const b = base.get(name)!;
      const want = Float32Array.from(s, (v, i) => v - b[i]);
      expect(d, name).toEqual(want);
    }
    again.dispose();
    run.dispose();
    expect(await logits(model)).toEqual(before);
  });

  test('chosen weights only: the others keep their base values; a checkpointed run resumes bit-identically', async () => {
    const pattern = model.config.arch === 'gpt2' ? ['h.1.mlp.*', 'wte.weight'] : ['layers.1.mlp.*', 'embed_tokens.weight'];
    const straight = new FullFinetuneRun(model, data, settings(pattern));
    const names = straight.tensors.map((t) => t.name);
    expect(names[0]).toBe('embed');
    expect(names.slice(1).every((n) => n.startsWith('blocks.1.up') || n.startsWith('blocks.1.down'))).toBe(true);
    const a: number[] = [];
    for (let s = 0; s < 6; s++) a.push((await straight.next()).loss);
    const deltaA = await straight.delta();
    const trainedNames = [...tensorsOf(deltaA).keys()];
    expect(trainedNames.every((n) => /mlp|wte|embed_tokens/.test(n))).toBe(true);
    const saved = tensorsOf((await exportHfModel(model, folderFiles(dir)))['model.safetensors']);
    const base = tensorsOf(new Uint8Array(readFileSync(join(dir, 'model.safetensors'))));
    for (const [name, values] of base) if (!trainedNames.includes(name)) expect(saved.get(name), name).toEqual(values);
    straight.dispose();

    const first = new FullFinetuneRun(model, data, settings(pattern));
    const b: number[] = [];
    for (let s = 0; s < 3; s++) b.push((await first.next()).loss);
    const ckpt = await first.checkpoint();
    first.dispose();
    const resumed = resumeRun(model, data, ckpt);
    expect(resumed).toBeInstanceOf(FullFinetuneRun);
    for (let s = 0; s < 3; s++) b.push((await resumed.next()).loss);
    expect(b).toEqual(a);
    expect(await (resumed as FullFinetuneRun).delta()).toEqual(deltaA);
    resumed.dispose();
  });
});

describe('a shipped toy model with a tokenizer (toy-s)', () => {
  test('the saved folder carries the tokenizer and generation config, tokenizes alike and reloads with identical logits', async () => {
    const dir = fileURLToPath(new URL('../public/models/toy-s', import.meta.url));
    const m = await Model.load(await nodeGpu(), folderFiles(dir), { dtype: 'f32' });
    const tok = await Tokenizer.load(folderFiles(dir));
    const ids = tok!.encode('the cat sat on the mat. the dog sat on the log.');
    const run = new FullFinetuneRun(m, [{ ids, labels: nextTokenLabels(ids) }], settings(['layers.3.*', 'model.norm.weight'], { warmupSteps: 0 }));
    for (let s = 0; s < 3; s++) await run.next();
    const files = await exportHfModel(m, folderFiles(dir));
    expect(Object.keys(files).sort()).toEqual(['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    for (const f of ['generation_config.json', 'tokenizer.json', 'tokenizer_config.json']) expect(files[f], f).toEqual(new Uint8Array(readFileSync(join(dir, f))));
    const saved = memoryFiles('saved', files);
    expect((await Tokenizer.load(saved))!.encode('the cat sat on the mat.')).toEqual(tok!.encode('the cat sat on the mat.'));
    const again = await Model.load(await nodeGpu(), saved, { dtype: 'f32' });
    expect(Array.from((await again.forward(ids)).logits!)).toEqual(Array.from((await m.forward(ids)).logits!));
    again.dispose();
    run.dispose();
    m.dispose();
  });
});

describe('refusals', () => {
  test('quantized bases are refused: full fine-tuning needs f32 weights', async () => {
    const dir = writeTinyModel('llama-gqa');
    for (const dtype of ['f16', 'q8', 'q4'] as const) {
      const m = await Model.load(await nodeGpu(), folderFiles(dir), { dtype });
      expect(() => new FullFinetuneRun(m, data, settings(['*']))).toThrow(/full fine-tuning needs f32 weights.*loaded as (f16|q8|q4).*--dtype f32/);
      await expect(exportHfModel(m, folderFiles(dir))).rejects.toThrow(/needs f32 weights/);
      m.dispose();
    }
    // Split by rows (larger than the binding limit) is refused the same way.
    const split = await Model.load(await nodeGpu(), folderFiles(dir), { dtype: 'f32', maxBinding: 1024 });
    expect(() => new FullFinetuneRun(split, data, settings(['embed_tokens.weight']))).toThrow(/split by rows/);
    split.dispose();
  });

  test('weight choices that cannot be trained are named', async () => {
    const tiedDir = writeTinyModel('llama-tied');
    const m = await Model.load(await nodeGpu(), folderFiles(tiedDir), { dtype: 'f32' });
    expect(() => new FullFinetuneRun(m, data, settings(['q_proj.weight']))).toThrow(/q_proj.weight is stored fused with k_proj.weight, v_proj.weight.*choose them together/);
    expect(() => new FullFinetuneRun(m, data, settings(['lm_head.weight']))).toThrow(/ties its head to the token embedding.*model.embed_tokens.weight/);
    expect(() => new FullFinetuneRun(m, data, settings(['layers.9.*']))).toThrow(/"layers.9.\*" matches no tensor/);
    expect(() => new FullFinetuneRun(m, data, settings([]))).toThrow(/no weights chosen/);
    m.dispose();
  });

  test('nonsense settings are refused by name before training', async () => {
    const m = await Model.load(await nodeGpu(), folderFiles(writeTinyModel('llama-gqa')), { dtype: 'f32' });
    const lora = { rank: 4, alpha: 8, targets: ['q_proj'] };
    const cases: [object, RegExp][] = [
      [{ batchSize: 0 }, /batch size must be a whole number ≥ 1, got 0/],
      [{ batchSize: 1.5 }, /batch size must be a whole number ≥ 1, got 1.5/],
      [{ train: { lr: -1 } }, /learning rate must be a finite number > 0, got -1/],
      [{ train: { lr: 1e-3, warmupSteps: -2 } }, /warmup steps must be a whole number ≥ 0, got -2/],
      [{ train: { lr: 1e-3, schedule: 'sometimes' } }, /schedule must be constant, linear or cosine/],
      [{ train: { lr: 1e-3, beta2: 1 } }, /beta2 must be in \[0, 1\)/],
      [{ train: { lr: 1e-3, maxGradNorm: NaN } }, /max gradient norm must be a finite number ≥ 0/],
    ];
    for (const [change, message] of cases) {
      expect(() => new FullFinetuneRun(m, data, { ...settings(['*']), ...change } as FullFinetuneSettings)).toThrow(message);
      expect(() => new FinetuneRun(m, data, { lora, train: { lr: 1e-3 }, batchSize: 1, seed: 0, ...change } as never)).toThrow(message);
    }
    expect(() => new FinetuneRun(m, data, { lora: { ...lora, alpha: 0 }, train: { lr: 1e-3 }, batchSize: 1, seed: 0 })).toThrow(/LoRA alpha must be a finite number > 0, got 0/);
    m.dispose();
  });
});

describe('non-finite training stops at the step and writes nothing non-finite', () => {
  test('a diverging learning rate stops at the first non-finite loss or norm; the adapter and checkpoint stay finite', async () => {
    const m = await Model.load(await nodeGpu(), folderFiles(writeTinyModel('llama-gqa')), { dtype: 'f32' });
    const run = new FinetuneRun(m, data, { lora: { rank: 4, alpha: 8, targets: ['q_proj', 'v_proj', 'down_proj', 'lm_head'] }, train: { lr: 1e12, optimizer: 'sgd', maxGradNorm: 0 }, batchSize: 2, seed: 1 });
    let error: Error | null = null;
    for (let s = 0; s < 50 && !error; s++) await run.next().catch((e: Error) => (error = e));
    expect(error, 'the run never diverged').not.toBeNull();
    expect(error!.message).toMatch(/training stopped at step \d+: the loss is .* and the gradient norm/);
    const stopped = Number(/step (\d+)/.exec(error!.message)![1]);
    expect(run.step).toBeLessThanOrEqual(stopped);
    // Whatever it holds, it is finite, or refused: the checkpoint is never non-finite.
    const snap = await run.trainer.snapshot();
    const finite = snap.every((t) => t.value.every(Number.isFinite));
    if (finite) expect((await run.checkpoint()).length).toBeGreaterThan(0);
    else await expect(run.checkpoint()).rejects.toThrow(/holds .* at index \d+; nothing was written/);
    // The PEFT export refuses a non-finite adapter the same way.
    const B = [...run.lora.modules.values()][0].B;
    m.parts.rt.write(B, Float32Array.of(NaN));
    await expect(exportPeft(m.parts.rt, m.config, run.lora)).rejects.toThrow(/adapter .*lora_B holds NaN at index 0; nothing was written/);
    run.dispose();
    m.dispose();
  });

  test('an injected NaN weight stops full fine-tuning at step 1, the update skipped', async () => {
    const m = await Model.load(await nodeGpu(), folderFiles(writeTinyModel('llama-gqa')), { dtype: 'f32' });
    const run = new FullFinetuneRun(m, data, settings(['layers.1.mlp.*']));
    const up = run.tensors.find((t) => t.name === 'blocks.1.up')!;
    const snapshot = await run.trainer.snapshot();
    const values = snapshot.find((t) => t.name === 'blocks.1.up')!.value.slice();
    values[5] = NaN;
    m.parts.rt.write(up.buf, values);
    await expect(run.next()).rejects.toThrow(/training stopped at step 1: the loss is NaN/);
    expect(run.step).toBe(0);
    const down = (await run.trainer.snapshot()).find((t) => t.name === 'blocks.1.down')!;
    expect(down.value).toEqual(snapshot.find((t) => t.name === 'blocks.1.down')!.value);
    await expect(run.checkpoint()).rejects.toThrow(/checkpoint of step 0: tensor blocks.1.up holds NaN at index 5; nothing was written/);
    await expect(run.delta()).rejects.toThrow(/weight delta .*gate_proj.weight holds NaN/);
    await expect(exportHfModel(m, folderFiles(writeTinyModel('llama-gqa')))).rejects.toThrow(/saved weight model.layers.1.mlp.gate_proj.weight holds NaN/);
    run.dispose();
    m.dispose();
  });

  test('a checkpoint of non-finite values is refused before it is encoded', () => {
    const t = { name: 'x', value: Float32Array.of(1, Infinity), m1: new Float32Array(2), m2: new Float32Array(2) };
    expect(() => encodeCheckpoint({ step: 3, cursor: { epoch: 0, index: 0 }, settings: {}, tensors: [t] })).toThrow(/checkpoint of step 3: tensor x holds Infinity at index 1/);
  });
});
