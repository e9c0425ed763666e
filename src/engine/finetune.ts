// Fine-tuning runs: trainer + seeded data order + checkpoints, the unit the worker and the CLI drive step by
// step (so they can report progress, pause and cancel between steps). A LoRA run trains an adapter; a full
// run trains chosen model weights in place (f32 only) and saves them as a Hugging Face folder or a delta.

import type { Model } from './model';
import { LoraAdapter, type LoraConfig } from './lora';
import { DataOrder } from './data-order';
import { decodeCheckpoint, encodeCheckpoint, checkFinite } from './checkpoint';
import { Trainer, type Example, type StepResult, type TrainOptions } from './trainer';
import type { Trainable } from './free-tensors';
import { Pass } from '../gpu/runtime';
import { checkTrainable, hfTensors, selectTensors, weightTensors, type WeightTensor } from './weight-tensors';
import { writeSafetensors } from './safetensors';

interface RunSettings {
  train: TrainOptions;
  batchSize: number;
  seed: number;
}

export interface FinetuneSettings extends RunSettings {
  lora: LoraConfig;
}

export interface FullFinetuneSettings extends RunSettings {
  /** Checkpoint-name patterns of the weights to train (weight-tensors.ts selectTensors; ['*']: every weight). */
  weights: string[];
}

/** Nonsense values are refused by name before anything is allocated. */
export function checkRunSettings(s: RunSettings): void {
  const t = s.train;
  const bad = (what: string, v: unknown, want: string) => new Error(`${what} must be ${want}, got ${JSON.stringify(v) ?? String(v)}`);
  if (!Number.isInteger(s.batchSize) || s.batchSize < 1) throw bad('batch size', s.batchSize, 'a whole number ≥ 1');
  if (!Number.isSafeInteger(s.seed)) throw bad('seed', s.seed, 'an integer');
  if (!(t.lr > 0) || !Number.isFinite(t.lr)) throw bad('learning rate', t.lr, 'a finite number > 0');
  if (t.optimizer !== undefined && t.optimizer !== 'adamw' && t.optimizer !== 'sgd') throw bad('optimizer', t.optimizer, 'adamw or sgd');
  if (t.schedule !== undefined && !['constant', 'linear', 'cosine'].includes(t.schedule)) throw bad('schedule', t.schedule, 'constant, linear or cosine');
  for (const [what, v] of [['beta1', t.beta1], ['beta2', t.beta2]] as const) if (v !== undefined && !(v >= 0 && v < 1)) throw bad(what, v, 'in [0, 1)');
  if (t.eps !== undefined && !(t.eps > 0 && Number.isFinite(t.eps))) throw bad('eps', t.eps, 'a finite number > 0');
  for (const [what, v] of [['weight decay', t.weightDecay], ['max gradient norm', t.maxGradNorm]] as const) {
    if (v !== undefined && !(v >= 0 && Number.isFinite(v))) throw bad(what, v, 'a finite number ≥ 0');
  }
  for (const [what, v] of [['warmup steps', t.warmupSteps], ['total steps', t.totalSteps]] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v < 0)) throw bad(what, v, 'a whole number ≥ 0');
  }
}

/** What LoRA and full runs share: the trainer over their tensors, the data order, checkpoints. */
abstract class Run<S extends RunSettings> {
  readonly trainer: Trainer;
  readonly order: DataOrder;

  protected constructor(readonly model: Model, readonly data: Example[], readonly settings: S, trainables: Trainable[], lora: LoraAdapter | null) {
    this.trainer = new Trainer(model.parts, trainables, { seed: settings.seed, ...settings.train }, lora);
    this.order = new DataOrder(data.length, settings.seed);
  }

  get step(): number {
    return this.trainer.step;
  }

  async next(): Promise<StepResult> {
    const batch = this.order.next(this.settings.batchSize).map((i) => this.data[i]);
    return this.trainer.train(batch);
  }

  async checkpoint(): Promise<Uint8Array> {
    return encodeCheckpoint({
      step: this.trainer.step,
      cursor: { ...this.order.cursor },
      settings: this.settings as unknown as Record<string, unknown>,
      tensors: await this.trainer.snapshot(),
    });
  }

  protected restore(state: ReturnType<typeof decodeCheckpoint>): void {
    this.trainer.restore(state.tensors, state.step);
    this.order.seek(state.cursor);
  }

  abstract dispose(): void;
}

/** A LoRA fine-tuning run: the adapter is the trained state. */
export class FinetuneRun extends Run<FinetuneSettings> {
  readonly lora: LoraAdapter;

  constructor(model: Model, data: Example[], settings: FinetuneSettings) {
    checkRunSettings(settings);
    const alpha = settings.lora.alpha;
    if (!(alpha > 0) || !Number.isFinite(alpha)) throw new Error(`LoRA alpha must be a finite number > 0, got ${alpha}`);
    const lora = LoraAdapter.create(model.parts.rt, model.config, settings.lora, settings.seed);
    const trainables = [...lora.modules.values()].flatMap((m) => [
      { name: `${m.name}.lora_A`, buf: m.A, n: m.rank * m.inDim },
      { name: `${m.name}.lora_B`, buf: m.B, n: m.outDim * m.rank },
    ]);
    try {
      super(model, data, settings, trainables, lora);
    } catch (e) {
      lora.destroy();
      throw e;
    }
    this.lora = lora;
  }

  /** A run continued from checkpoint bytes, on the same data. */
  static resume(model: Model, data: Example[], bytes: Uint8Array): FinetuneRun {
    const state = decodeCheckpoint(bytes);
    if (!state.settings.lora) throw new Error('this checkpoint is from full fine-tuning, not LoRA: resume it as a full run (latentlab finetune --full)');
    const run = new FinetuneRun(model, data, state.settings as unknown as FinetuneSettings);
    run.restore(state);
    return run;
  }

  dispose(): void {
    this.trainer.destroy();
    this.lora.destroy();
  }
}

/**
 * Full fine-tuning: the chosen weight buffers of the model are trained in place, in f32. The base values are
 * kept in GPU copies for the delta and put back by dispose(), so the loaded model is the base again after a run.
 */
export class FullFinetuneRun extends Run<FullFinetuneSettings> {
  readonly tensors: WeightTensor[];
  private base: GPUBuffer[];

  constructor(model: Model, data: Example[], settings: FullFinetuneSettings) {
    checkRunSettings(settings);
    const tensors = selectTensors(weightTensors(model.config, model.parts.w), settings.weights);
    for (const t of tensors) checkTrainable(t, model.dtype);
    super(model, data, settings, tensors.map((t) => ({ name: t.name, buf: t.buf, n: t.n })), null);
    this.tensors = tensors;
    this.base = copyBuffers(model, tensors.map((t) => t.buf));
  }

  static resume(model: Model, data: Example[], bytes: Uint8Array): FullFinetuneRun {
    const state = decodeCheckpoint(bytes);
    if (!state.settings.weights) throw new Error('this checkpoint is from LoRA training, not full fine-tuning: resume it without --full');
    const run = new FullFinetuneRun(model, data, state.settings as unknown as FullFinetuneSettings);
    run.restore(state);
    return run;
  }

  /** Δ = trained − base for every trained checkpoint tensor, as safetensors (F32, Hugging Face names and shapes). */
  async delta(): Promise<Uint8Array> {
    const pass = new Pass(this.model.parts.rt);
    const reads = this.tensors.map((t, i) => [pass.read(t.buf, t.n * 4), pass.read(this.base[i], t.n * 4)] as const);
    await pass.submit();
    const out: Parameters<typeof writeSafetensors>[0] = {};
    for (const [i, t] of this.tensors.entries()) {
      const now = await reads[i][0];
      const was = await reads[i][1];
      const d = now.map((v, k) => v - was[k]);
      for (const h of hfTensors(t, d)) {
        checkFinite(`weight delta ${h.name}`, h.data);
        out[h.name] = { dtype: 'F32', shape: h.shape, data: h.data };
      }
    }
    return writeSafetensors(out, { format: 'latentlab-weight-delta', base_model: this.model.label, step: String(this.step) });
  }

  dispose(): void {
    this.trainer.destroy();
    // Put the base weights back (queued before any later work on the model), then free the copies.
    const dev = this.model.parts.rt.device;
    const enc = dev.createCommandEncoder();
    this.tensors.forEach((t, i) => enc.copyBufferToBuffer(this.base[i], 0, t.buf, 0, t.n * 4));
    dev.queue.submit([enc.finish()]);
    this.base.forEach((b) => b.destroy());
  }
}

/** GPU copies of `bufs`, queued now (so they hold the values before any later training pass). */
function copyBuffers(model: Model, bufs: GPUBuffer[]): GPUBuffer[] {
  const dev = model.parts.rt.device;
  const enc = dev.createCommandEncoder();
  const out = bufs.map((b) => {
    const c = dev.createBuffer({ size: b.size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST, label: `${b.label}:base` });
    enc.copyBufferToBuffer(b, 0, c, 0, b.size);
    return c;
  });
  dev.queue.submit([enc.finish()]);
  return out;
}

/** A run of either kind continued from its checkpoint. */
export function resumeRun(model: Model, data: Example[], bytes: Uint8Array): FinetuneRun | FullFinetuneRun {
  return decodeCheckpoint(bytes).settings.weights ? FullFinetuneRun.resume(model, data, bytes) : FinetuneRun.resume(model, data, bytes);
}

/**
 * The model as it is now (trained weights included) as a Hugging Face folder: model.safetensors in F32 with the
 * base's config.json (torch_dtype float32), tokenizer files and generation_config.json copied from `base`.
 */
export async function exportHfModel(model: Model, base: { label: string; read(path: string): Promise<Uint8Array | null> }): Promise<Record<string, Uint8Array>> {
  const configBytes = await base.read('config.json');
  if (!configBytes) throw new Error(`${base.label} has no config.json (a GGUF file?): saving as a Hugging Face folder needs a base model folder`);
  if (model.dtype !== 'f32') throw new Error(`saving a model folder needs f32 weights, but ${model.label} is loaded as ${model.dtype}`);
  const config = JSON.parse(new TextDecoder().decode(configBytes)) as Record<string, unknown>;
  config.torch_dtype = 'float32';
  const tensors = weightTensors(model.config, model.parts.w);
  for (const t of tensors) checkTrainable(t, model.dtype);
  const pass = new Pass(model.parts.rt);
  const reads = tensors.map((t) => pass.read(t.buf, t.n * 4));
  await pass.submit();
  const out: Parameters<typeof writeSafetensors>[0] = {};
  for (const [i, t] of tensors.entries()) {
    for (const h of hfTensors(t, await reads[i])) {
      checkFinite(`saved weight ${h.name}`, h.data);
      out[h.name] = { dtype: 'F32', shape: h.shape, data: h.data };
    }
  }
  const files: Record<string, Uint8Array> = {
    'config.json': new TextEncoder().encode(JSON.stringify(config, null, 2) + '\n'),
    'model.safetensors': writeSafetensors(out, { format: 'pt' }),
  };
  for (const name of HF_SIDE_FILES) {
    const bytes = await base.read(name);
    if (bytes) files[name] = bytes;
  }
  return files;
}

/** Files of a Hugging Face model folder besides the weights and config, copied as they are. */
const HF_SIDE_FILES = [
  'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'added_tokens.json',
  'vocab.json', 'merges.txt', 'tokenizer.model', 'chat_template.jinja', 'chat_template.json',
];
