// Training on the GPU: one Pass per optimizer step records, for each sequence of the batch, the
// forward with a tape, the cross-entropy, and the backward; then the global gradient norm, clipping
// and the AdamW (or SGD) update. Only the loss and the gradient norm are read back.

import { Pass } from '../gpu/runtime';
import { record, type ModelParts } from './forward';
import * as gop from './grad-ops';
import { HookSession, type TensorEdit } from './hook-session';
import type { HookSpec } from './hooks';
import type { Trainable } from './free-tensors';
import { mix32, type LoraAdapter } from './lora';
import { Tape } from './tape';

export interface Example {
  ids: number[];
  /** Target id per position, -1 where no loss is taken. */
  labels: number[];
  /** Edits applied during this example's forward (e.g. activations patched into placeholder tokens). */
  hooks?: HookSpec[];
  /** Position ids of the tokens (default 0..T-1). */
  positions?: number[];
}

/** Next-token labels for `ids`, counting only predictions of tokens at positions ≥ `from`. */
export function nextTokenLabels(ids: number[], from = 1): number[] {
  return ids.map((_, t) => (t + 1 < ids.length && t + 1 >= from ? ids[t + 1] : -1));
}

export interface TrainOptions {
  lr: number;
  optimizer?: 'adamw' | 'sgd';
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** Clip the global gradient norm to this (0: no clipping). */
  maxGradNorm?: number;
  warmupSteps?: number;
  schedule?: 'constant' | 'linear' | 'cosine';
  /** Steps the schedule decays over. */
  totalSteps?: number;
  /** Seed of LoRA dropout's masks (each example of each step draws its own). */
  seed?: number;
  /** Keep only each block's input and recompute its forward in the backward: less memory, more work. */
  recompute?: boolean;
}

export interface Param extends Trainable {
  /** Its gradient, accumulated by the backward. */
  grad: GPUBuffer;
  /** Where it sits in the trainer's flat buffers, in floats. */
  offset: number;
}

export interface StepResult {
  step: number;
  loss: number;
  gradNorm: number;
  lr: number;
  tokens: number;
  /** Peak GPU bytes of the step beyond the model's weights: activations, gradients and optimizer state. */
  peakBytes: number;
}

/** Learning rate at 1-based step `s`: linear warmup, then constant / linear / cosine decay to 0. */
export function learningRate(o: TrainOptions, s: number): number {
  const warm = o.warmupSteps ?? 0;
  if (s <= warm) return (o.lr * s) / warm;
  const total = o.totalSteps ?? 0;
  if (!total || (o.schedule ?? 'constant') === 'constant') return o.lr;
  const f = Math.min(1, (s - warm) / Math.max(1, total - warm));
  return o.schedule === 'linear' ? o.lr * (1 - f) : o.lr * 0.5 * (1 + Math.cos(Math.PI * f));
}

export class Trainer {
  readonly params: Param[] = [];
  step = 0;
  private norms: GPUBuffer;
  /** sumsq's partial sums. */
  private slots: number;
  /** Every param's values, gradient and moments end to end, so the optimizer is three dispatches. */
  private flat: { values: GPUBuffer; grad: GPUBuffer; m1: GPUBuffer; m2: GPUBuffer; n: number };
  /** How the free tensors among the params enter every forward. */
  private edits: TensorEdit[];

  constructor(
    private m: ModelParts,
    /** Named GPU tensors to train (LoRA A/B, model weights, steering vectors, soft prompts), with their sizes. */
    trainables: Trainable[],
    readonly opts: TrainOptions,
    private lora: LoraAdapter | null = null,
  ) {
    if (!trainables.length) throw new Error('nothing to train: no LoRA modules and no layers chosen');
    if (!(opts.lr > 0)) throw new Error(`learning rate must be > 0, got ${opts.lr}`);
    const rt = m.rt;
    let n = 0;
    for (const t of trainables) {
      this.params.push({ ...t, grad: rt.createStatic(new Float32Array(t.n), `${t.name}.grad`), offset: n });
      n += t.n;
    }
    const zero = (label: string) => rt.createStatic(new Float32Array(n), `trainer.${label}`);
    this.flat = { values: zero('values'), grad: zero('grad'), m1: zero('m1'), m2: zero('m2'), n };
    this.slots = Math.min(256, Math.ceil(n / 4096));
    this.norms = rt.createStatic(new Float32Array(this.slots + 2));
    this.edits = trainables.flatMap((t) => (t.edit ? [t.edit] : []));
  }

  /** The lowest layer holding a trained tensor: backward stops there. */
  private fromLayer(): number {
    return Math.min(...this.params.map((p) => layerOf(this.m.cfg.nLayers, p)));
  }

  /** One optimizer step over `batch` (gradients accumulated over its sequences). */
  async train(batch: Example[]): Promise<StepResult> {
    if (!batch.length) throw new Error('empty batch');
    const { rt, cfg } = this.m;
    const pass = new Pass(rt);
    for (const p of this.params) pass.clear(p.grad);
    const grads = new Map(this.params.map((p) => [p.buf, p.grad]));
    const losses: Promise<Float32Array>[] = [];
    let tokens = 0;
    for (const [k, ex] of batch.entries()) {
      const counted = checkExample(cfg.vocab, ex);
      tokens += ex.ids.length;
      const tape = new Tape(pass, grads, this.fromLayer());
      const hooks = new HookSession(cfg, ex.hooks ?? [], pass, ex.ids.length, 0, tape, this.edits);
      const dropoutSeed = exampleSeed(this.opts.seed ?? 0, this.step + 1, k);
      const { logits } = record(this.m, pass, hooks, ex.ids, { lora: this.lora, positions: ex.positions, dropoutSeed, recompute: this.opts.recompute }, tape);
      // An example may have no labels when its loss is a gradient seeded into a hook (see HookOp 'seed').
      losses.push(counted ? this.crossEntropy(pass, tape, logits!.buf, ex, counted) : Promise.resolve(Float32Array.of(0)));
      tape.backward();
    }
    this.step++;
    const lr = learningRate(this.opts, this.step);
    const o = this.opts;
    const f = this.flat;
    const args = {
      param: f.values, grad: f.grad, m1: f.m1, m2: f.m2, n: f.n, norms: this.norms, slots: this.slots, step: this.step, lr,
      beta1: o.beta1 ?? 0.9, beta2: o.beta2 ?? 0.999, eps: o.eps ?? 1e-8, weightDecay: o.weightDecay ?? 0,
      maxNorm: o.maxGradNorm ?? 0, gradScale: 1 / batch.length,
    };
    for (const p of this.params) {
      pass.copy(p.grad, 0, f.grad, p.offset * 4, p.n * 4);
      pass.copy(p.buf, 0, f.values, p.offset * 4, p.n * 4);
    }
    gop.optimizerStep(pass, 'sumsq', args);
    gop.optimizerStep(pass, 'clip', args);
    const norm = pass.read(this.norms, (this.slots + 2) * 4);
    gop.optimizerStep(pass, o.optimizer === 'sgd' ? 'sgd' : 'adamw', args);
    for (const p of this.params) pass.copy(f.values, p.offset * 4, p.buf, 0, p.n * 4);
    const stateBytes = this.params.reduce((a, p) => a + p.grad.size, this.norms.size + 4 * f.values.size);
    const peakBytes = pass.scratchBytes + stateBytes;
    await pass.submit();
    const perSeq = await Promise.all(losses);
    const loss = perSeq.reduce((a, l) => a + l[0], 0) / batch.length;
    const gradNorm = (await norm)[this.slots + 1];
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
      // optimizer.wgsl skipped the update on a non-finite norm (a non-finite loss with a finite norm was applied).
      const failed = this.step;
      if (!Number.isFinite(gradNorm)) this.step--;
      throw new Error(`training stopped at step ${failed}: the loss is ${loss} and the gradient norm ${gradNorm} (the run diverged, or met a non-finite value); the trained tensors keep their values of step ${this.step}; a lower learning rate, warmup or gradient clipping may help`);
    }
    return { step: this.step, loss, gradNorm, lr, tokens, peakBytes };
  }

  /** Mean loss of each example without training (evaluation). */
  async loss(batch: Example[]): Promise<number[]> {
    const pass = new Pass(this.m.rt);
    const out: Promise<Float32Array>[] = [];
    for (const ex of batch) {
      const counted = checkExample(this.m.cfg.vocab, ex);
      const hooks = new HookSession(this.m.cfg, ex.hooks ?? [], pass, ex.ids.length, 0, null, this.edits);
      const { logits } = record(this.m, pass, hooks, ex.ids, { lora: this.lora, positions: ex.positions }, null);
      out.push(this.crossEntropy(pass, null, logits!.buf, ex, counted));
    }
    await pass.submit();
    return (await Promise.all(out)).map((l) => l[0]);
  }

  /** Records the loss (read back as one number: the mean over counted rows) and seeds the tape with dLogits. */
  private crossEntropy(pass: Pass, tape: Tape | null, logits: GPUBuffer, ex: Example, counted: number): Promise<Float32Array> {
    const T = ex.ids.length;
    const V = this.m.cfg.vocab;
    const labels = pass.scratchBuffer(T * 4);
    this.m.rt.write(labels, Int32Array.from(ex.labels));
    const rowLoss = pass.scratchBuffer(T * 4);
    const dLogits = tape ? tape.grad(logits) : pass.scratchBuffer(T * V * 4);
    gop.crossEntropy(pass, logits, labels, rowLoss, dLogits, T, V, counted);
    return pass.read(rowLoss, T * 4).then((rows) => Float32Array.of(rows.reduce((a, b) => a + b, 0) / counted));
  }

  /** Trained tensors and optimizer state, read back (for checkpoints and adapter export). */
  async snapshot(): Promise<{ name: string; value: Float32Array; m1: Float32Array; m2: Float32Array }[]> {
    const pass = new Pass(this.m.rt);
    const { m1, m2 } = this.flat;
    const reads = this.params.map((p) => [pass.read(p.buf, p.n * 4), pass.read(m1, p.n * 4, p.offset * 4), pass.read(m2, p.n * 4, p.offset * 4)] as const);
    await pass.submit();
    return Promise.all(this.params.map(async (p, i) => ({ name: p.name, value: await reads[i][0], m1: await reads[i][1], m2: await reads[i][2] })));
  }

  /** Restore tensors and optimizer state from snapshot(), and the step counter. */
  restore(state: { name: string; value: Float32Array; m1: Float32Array; m2: Float32Array }[], step: number): void {
    const byName = new Map(state.map((s) => [s.name, s]));
    for (const p of this.params) {
      const s = byName.get(p.name);
      if (!s || s.value.length !== p.n) {
        const had = s ? `has ${s.value.length} values for ${p.name}, this run ${p.n}` : `has no tensor ${p.name}`;
        throw new Error(`the checkpoint does not fit this model: it ${had} (it was saved from another model, or with another LoRA rank or targets)`);
      }
      this.m.rt.write(p.buf, s.value);
      this.m.rt.write(this.flat.m1, s.m1, p.offset * 4);
      this.m.rt.write(this.flat.m2, s.m2, p.offset * 4);
    }
    this.step = step;
  }

  destroy(): void {
    for (const p of this.params) p.grad.destroy();
    const f = this.flat;
    [f.values, f.grad, f.m1, f.m2, this.norms].forEach((b) => b.destroy());
  }
}

/** The layer whose backward first involves `p` (-1: the embeddings; nLayers: the head). */
function layerOf(nLayers: number, p: Trainable): number {
  if (p.edit) {
    const block = /^blocks\.(\d+)\./.exec(p.edit.name);
    if (block) return Number(block[1]);
    return p.edit.name === 'hook_embed' || p.edit.name === 'hook_pos_embed' ? -1 : nLayers;
  }
  // Full fine-tuning's weights (weight-tensors.ts): blocks.N.*, the embeddings, ln_final and the head.
  if (p.name === 'embed' || p.name === 'pos_embed') return -1;
  const m = /(?:layers|\.h|^blocks)\.(\d+)\./.exec(p.name);
  return m ? Number(m[1]) : nLayers;
}

/** The dropout seed of example `k` of 1-based step `step`. */
export function exampleSeed(seed: number, step: number, k: number): number {
  return mix32((mix32(seed >>> 0) ^ Math.imul(step, 0x9e3779b9) ^ Math.imul(k + 1, 0x85ebca6b)) >>> 0);
}

/** Counted label positions; an example without labels must seed a gradient instead. */
function checkExample(vocab: number, ex: Example): number {
  if (ex.labels.length !== ex.ids.length) throw new Error(`labels (${ex.labels.length}) and ids (${ex.ids.length}) differ in length`);
  let counted = 0;
  for (const l of ex.labels) {
    if (!Number.isInteger(l) || l >= vocab) throw new Error(`label ${l} is outside the vocabulary 0..${vocab - 1}`);
    if (l >= 0) counted++;
  }
  if (!counted && !(ex.hooks ?? []).some((h) => h.op === 'seed')) throw new Error('no position has a label: nothing to learn from');
  return counted;
}

/**
 * Loss, the gradients asked for by 'grad' hooks, and the gradients of `params` (named GPU tensors:
 * LoRA matrices or model weights), without changing anything. With `dropoutSeed`, LoRA dropout acts
 * as in a training step with that seed (see exampleSeed).
 */
export async function lossGradients(
  m: ModelParts,
  ex: Example,
  hooks: HookSpec[],
  lora: LoraAdapter | null = null,
  params: Trainable[] = [],
  opts: { dropoutSeed?: number; recompute?: boolean } = {},
): Promise<{ loss: number; cache: Record<string, Float32Array>; grads: Record<string, Float32Array> }> {
  const counted = checkExample(m.cfg.vocab, ex);
  const pass = new Pass(m.rt);
  const grads = params.map((p) => {
    return pass.zeroBuffer(p.n * 4);
  });
  const tape = new Tape(pass, new Map(params.map((p, i) => [p.buf, grads[i]])), -1);
  const edits = params.flatMap((p) => (p.edit ? [p.edit] : []));
  const session = new HookSession(m.cfg, [...(ex.hooks ?? []), ...hooks], pass, ex.ids.length, 0, tape, edits);
  const logits = record(m, pass, session, ex.ids, { lora, positions: ex.positions, ...opts }, tape).logits!;
  const T = ex.ids.length;
  const labels = pass.scratchBuffer(T * 4);
  m.rt.write(labels, Int32Array.from(ex.labels));
  const rowLoss = pass.scratchBuffer(T * 4);
  if (counted) gop.crossEntropy(pass, logits.buf, labels, rowLoss, tape.grad(logits.buf), T, m.cfg.vocab, counted);
  const loss = pass.read(rowLoss, T * 4);
  tape.backward();
  const reads = params.map((p, i) => pass.read(grads[i], p.n * 4));
  await pass.submit();
  const out: Record<string, Float32Array> = {};
  for (const [i, p] of params.entries()) out[p.name] = await reads[i];
  return { loss: counted ? (await loss).reduce((a, b) => a + b, 0) / counted : 0, cache: await session.results(), grads: out };
}
