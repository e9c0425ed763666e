// A loaded model: its config, its weights on the GPU, and the two things callers do with it —
// a forward with hooks, and generation with a KV cache.

import type { Gpu } from '../gpu/device';
import { Runtime } from '../gpu/runtime';
import { parseConfig, type ModelConfig } from './config';
import type { ModelFiles } from './files';
import { checkIds, forward, forwardNext, type ForwardOptions, type ForwardResult, type ModelParts } from './forward';
import type { HookSpec } from './hooks';
import { KVCache } from './kv-cache';
import type { LoraAdapter } from './lora';
import { RopeTable } from './rope';
import type { SamplingOptions } from './sampler';
import { seededRandom } from '../common/rng';
import { Checkpoint, loadWeights, type TensorSource, type Weights } from './weights';
import { chooseDtype, type MemoryPlan } from './memory-plan';
import type { WeightDtype } from './quant';
import { forwardBatch, type BatchOptions, type BatchResult, type TokenScore } from './batch';
import { candidateScores, tokenLogprobs, type CandidateQuery, type LogprobOptions, type SequenceLogprobs } from './logprobs';
import { sampleMany, type Sample, type SampleOptions } from './samples';

export interface LoadOptions {
  /** Weight dtype on the GPU; 'auto' (default) picks the most precise that fits the budget. */
  dtype?: WeightDtype | 'auto';
  /** Bytes of GPU memory the weights may take (default memory-plan's DEFAULT_BUDGET). */
  budgetBytes?: number;
  /** Override the device's largest storage binding (tests exercise row splitting with it). */
  maxBinding?: number;
}

export interface GenerateOptions extends SamplingOptions {
  maxNewTokens: number;
  seed?: number;
  /** Token ids that end generation (they are included in the output). Defaults to the config's eos ids. */
  stop?: number[];
  /** Hooks applied at every step (steered generation). Reads are not returned during generation. */
  hooks?: HookSpec[];
  /** A LoRA adapter applied at every step. */
  lora?: LoraAdapter | null;
}

const runtimes = new WeakMap<GPUDevice, Runtime>();

/** One runtime (pipeline cache, buffer pool) per device, shared by all models on it. */
export function runtimeFor(gpu: Gpu): Runtime {
  let rt = runtimes.get(gpu.device);
  if (!rt) runtimes.set(gpu.device, (rt = new Runtime(gpu)));
  return rt;
}

export class Model {
  private disposed = false;

  private constructor(
    readonly config: ModelConfig,
    private rt: Runtime,
    private weights: Weights,
    private rope: RopeTable | null,
    readonly label: string,
  ) {}

  static async load(gpu: Gpu, files: ModelFiles, opts: LoadOptions = {}): Promise<Model> {
    const cfgBytes = await files.read('config.json');
    if (!cfgBytes) throw new Error(`${files.label}: config.json is missing`);
    const cfg = parseConfig(new TextDecoder().decode(cfgBytes), `${files.label}/config.json`);
    return Model.fromTensors(gpu, cfg, await Checkpoint.read(files), files.label, opts);
  }

  /** Upload tensors from any source (safetensors, GGUF) after planning the memory they will take. */
  static async fromTensors(gpu: Gpu, cfg: ModelConfig, ck: TensorSource, label: string, opts: LoadOptions = {}): Promise<Model> {
    const maxBinding = opts.maxBinding ?? Math.min(gpu.limits.maxStorageBufferBindingSize, gpu.limits.maxBufferSize);
    const plan = chooseDtype(cfg, opts.dtype ?? 'auto', { maxStorageBufferBindingSize: maxBinding, maxBufferSize: maxBinding }, opts.budgetBytes);
    const rt = runtimeFor(gpu);
    const weights = await loadWeights(rt, cfg, ck, { dtype: plan.dtype, maxBinding });
    const model = new Model(cfg, rt, weights, cfg.rope ? new RopeTable(rt, cfg) : null, label);
    model.plan = plan;
    return model;
  }

  /** The memory plan the weights were uploaded by (dtype, bytes per tensor, total). */
  plan!: MemoryPlan;

  get dtype(): WeightDtype {
    return this.plan.dtype;
  }

  /** The pieces the trainer and gradient code record into their own passes. */
  get parts(): ModelParts {
    this.alive();
    return { rt: this.rt, cfg: this.config, w: this.weights, rope: this.rope };
  }

  /** Bytes of weights on the GPU. */
  get weightBytes(): number {
    return this.weights.bytes;
  }

  forward(ids: number[], opts: ForwardOptions = {}): Promise<ForwardResult> {
    this.alive();
    return forward({ rt: this.rt, cfg: this.config, w: this.weights, rope: this.rope }, ids, opts);
  }

  /** Several sequences in one forward: last logits, scored tokens and hook reads per sequence (engine/batch.ts). */
  forwardBatch(seqs: number[][], opts: BatchOptions = {}): Promise<BatchResult> {
    return forwardBatch(this.parts, seqs, opts);
  }

  /** Log-probability and rank of every labelled token of every sequence (engine/logprobs.ts). */
  logprobs(seqs: number[][], opts: LogprobOptions = {}): Promise<SequenceLogprobs[]> {
    return tokenLogprobs(this.parts, seqs, opts);
  }

  /** Logit, log-probability and rank of candidate next tokens at chosen positions (engine/logprobs.ts). */
  candidateScores(seqs: number[][], queries: CandidateQuery[], lora: LoraAdapter | null = null): Promise<TokenScore[][]> {
    return candidateScores(this.parts, seqs, queries, lora);
  }

  /** k samples per prompt from one prefill each, decoded together (engine/samples.ts); [prompt][sample]. */
  sample(prompts: number[][], opts: SampleOptions): Promise<Sample[][]> {
    return sampleMany(this.parts, prompts, opts);
  }

  newCache(capacity: number): KVCache {
    this.alive();
    return new KVCache(this.rt, this.config, capacity);
  }

  /** New token ids only. onToken sees each id as soon as it is chosen. */
  async generate(ids: number[], opts: GenerateOptions, onToken?: (id: number) => void): Promise<number[]> {
    this.alive();
    checkIds(this.config, ids);
    const n = opts.maxNewTokens;
    if (!Number.isInteger(n) || n < 0) throw new Error(`maxNewTokens must be a non-negative integer, got ${n}`);
    const out: number[] = [];
    if (n === 0) return out;
    const stop = new Set(opts.stop ?? this.config.eosTokenIds);
    const random = seededRandom(opts.seed ?? 0);
    const cache = this.newCache(ids.length + n);
    try {
      const step = { cache, hooks: opts.hooks, lora: opts.lora };
      let id = await forwardNext(this.parts, ids, step, opts, random());
      for (;;) {
        out.push(id);
        onToken?.(id);
        if (stop.has(id) || out.length >= n) break;
        id = await forwardNext(this.parts, [id], step, opts, random());
      }
    } finally {
      cache.release();
    }
    return out;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.weights.destroy();
    this.rope?.destroy();
    this.rt.trim();
  }

  private alive(): void {
    if (this.disposed) throw new Error(`model ${this.label} has been disposed`);
  }
}
