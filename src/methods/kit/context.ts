// What a method's steps run against: the MethodContext. It is implemented twice, once in the engine worker
// (src/workers/method-host.ts: the page's loaded model, IndexedDB, the Train page's run loop) and once in Node
// (src/cli/method-context.ts: the CLI's model, memory or a file, a run to its end), so a method's orchestration is
// written once, in its own folder, and the worker API and the CLI only adapt plain data in and out.
import type { Model } from '../../engine/model';
import type { ModelConfig } from '../../engine/config';
import type { Tokenizer } from '../../engine/tokenizer';
import type { ModelFiles } from '../../engine/files';
import type { FinetuneRun } from '../../engine/finetune';
import type { Example } from '../../engine/trainer';
import type { Runtime } from '../../gpu/runtime';
import type { HookSpec } from '../../engine/hooks';
import type { LoraAdapter } from '../../engine/lora';

/** The engine Model's own calls a method makes; through ModelAccess each is one job under the model's lock. */
export type EngineCalls = Pick<Model, 'generate' | 'forwardBatch' | 'logprobs' | 'candidateScores' | 'sample'>;

/** The engine calls of `model`, each run as one job of `run` (the worker's lock; in Node the job itself). */
export function engineCalls(model: Model, run: <T>(job: () => Promise<T>) => Promise<T>): EngineCalls {
  return {
    generate: (ids, opts, onToken) => run(() => model.generate(ids, opts, onToken)),
    forwardBatch: (seqs, opts) => run(() => model.forwardBatch(seqs, opts)),
    logprobs: (seqs, opts) => run(() => model.logprobs(seqs, opts)),
    candidateScores: (seqs, queries, lora) => run(() => model.candidateScores(seqs, queries, lora)),
    sample: (prompts, opts) => run(() => model.sample(prompts, opts)),
  };
}

/**
 * The loaded model a call names. Every GPU job takes the model's lock, so other pages' calls slot in between jobs:
 * forward and gradients here, the engine's generate / batched forward / log-probs / candidate scores / k samples
 * (EngineCalls), or `use` for several steps on the Model itself (a training run, a decoder read).
 */
export interface ModelAccess extends EngineCalls {
  readonly label: string;
  readonly config: ModelConfig;
  readonly tokenizer: Tokenizer | null;
  /** Runs `job` on the model under its lock (use it for several steps that must not interleave with others). */
  use<T>(job: (model: Model) => Promise<T>): Promise<T>;
  /** One hooked forward (ids checked against the vocabulary and context). */
  forward(ids: number[], opts?: { hooks?: HookSpec[]; logits?: 'last' | 'all' | 'none'; lora?: LoraAdapter | null }): Promise<{ logits: Float32Array | null; cache: Record<string, Float32Array> }>;
  /** Mean cross-entropy of `labels` (-1: no loss) and the 'grad' / 'read' hooks' tensors. */
  gradients(ids: number[], labels: number[], hooks: HookSpec[], lora?: LoraAdapter | null): Promise<{ loss: number; cache: Record<string, Float32Array> }>;
  /** The folder `<model folder><suffix>/` beside a model loaded from a folder or URL (a shipped decoder), else null. */
  beside(suffix: string): ModelFiles | null;
  /** sha256 of the model's model.safetensors when it came from a folder or URL (null otherwise, or when sharded). */
  weightsSha256(): Promise<string | null>;
}

/** Where a method keeps what it fits (by key, JSON-safe values): IndexedDB in the worker, memory or a file in Node. */
export interface MethodStore {
  get(key: string): Promise<unknown>;
  put(key: string, value: unknown): Promise<void>;
}

/** What a run record says about a method's training run, so it can be resumed on the method's page. */
export interface MethodRunRecord {
  /** One of the method's `runKinds` (src/methods/list.ts). */
  kind: string;
  /** The method's request: enough to rebuild the run's examples when it resumes. */
  request: Record<string, unknown>;
  checkpointEvery: number;
}

/** Takes a finished training run (its LoRA, its losses) once the host is done stepping it. */
export type RunDone = (run: FinetuneRun, losses: number[], record: MethodRunRecord) => Promise<void>;

export interface TrainingHost {
  /**
   * Trains `run` for `steps` steps. In the worker it becomes a run of the Train page's loop (progress, pause / resume /
   * cancel between steps, checkpoints in IndexedDB) and this returns its id at once; in Node it runs to its end, with
   * progress through the context. `done` gets the finished run either way.
   */
  start(run: FinetuneRun, steps: number, record: MethodRunRecord, done: RunDone): Promise<string>;
  /** Continues a stored unfinished run from its checkpoint, on the examples `examples` rebuilds from its record. */
  resume(key: string, examples: (record: MethodRunRecord) => Promise<Example[]>, done: RunDone): Promise<string>;
}

export interface MethodContext {
  /** The model the call names; null for a call given no model (a method that needs none, like market entry). */
  readonly model: ModelAccess | null;
  /** The device's runtime (pipeline cache, buffer pool), for a method's own kernels: the same device as the models. */
  runtime(): Promise<Runtime>;
  /** Progress of the call: a stage, how far it is, and an optional detail (a streamed text, a table row). */
  progress(stage: string, done: number, total: number, detail?: unknown): void;
  /**
   * The one cancellation convention: the host aborts it (the page's cancel, the model's disposal). A method checks
   * `signal.aborted` between steps and either stops with what it has (saying so) or throws `cancelled(...)`.
   */
  readonly signal: AbortSignal;
  readonly store: MethodStore;
  /** Files at a location the user named (a decoder, a data folder): a folder path in Node, a URL in the worker. */
  files(location: string): ModelFiles;
  readonly training: TrainingHost;
  /**
   * State the method keeps for this model between calls (a loaded decoder, fits), made on first use; `free` runs
   * when the model is disposed. In Node a process makes one call, so it lives for that call.
   */
  session<T extends object>(make: () => T, free?: (state: T) => void): T;
}

/** The progress record a call's listener gets. */
export interface MethodProgress {
  stage: string;
  done: number;
  total: number;
  detail?: unknown;
}

/** The model of a call that needs one. */
export function needModel(ctx: MethodContext, method: string): ModelAccess {
  if (!ctx.model) throw new Error(`${method} needs a loaded model`);
  return ctx.model;
}

/** The model's tokenizer, for a method that works on text. */
export function needTokenizer(m: ModelAccess, method: string): Tokenizer {
  if (!m.tokenizer) throw new Error(`${method} works on text, and ${m.label} has no tokenizer.json`);
  return m.tokenizer;
}

/** The error a cancelled call rejects with. */
export function cancelled(what: string): Error {
  return new Error(`${what} cancelled`);
}

/** Throws `cancelled(what)` once the call's signal is aborted. */
export function checkCancel(ctx: Pick<MethodContext, 'signal'>, what: string): void {
  if (ctx.signal.aborted) throw cancelled(what);
}

/** Token ids a model can take: integers inside its vocabulary, at most its context. */
export function checkIds(ids: number[], config: ModelConfig, label: string): void {
  if (!Array.isArray(ids) || ids.length === 0) throw new Error('need at least one token id');
  const V = config.vocab;
  const bad = ids.find((x) => !Number.isInteger(x) || x < 0 || x >= V);
  if (bad !== undefined) throw new Error(`token id ${bad} is outside the vocabulary of ${label} (0..${V - 1})`);
  if (ids.length > config.maxPositions) throw new Error(`${ids.length} tokens exceed the model's context of ${config.maxPositions}`);
}

/** sha256 of some bytes, as hex (Web Crypto: the worker and Node alike). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
}
