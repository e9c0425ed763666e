// Training in the worker: LoRA runs driven one optimizer step at a time (each under the model's lock, so a
// forward or a generate from another page slots in between steps, and pause / cancel act between steps),
// progress streamed to the page, checkpoints in IndexedDB; PEFT export and import; the Hub model cache.
// Methods' training runs (LatentQA's decoder) are driven by the same loop through `methodRuns` (method-host.ts).

import { FinetuneRun, FullFinetuneRun, exportHfModel, resumeRun, type FinetuneSettings, type FullFinetuneSettings } from '../engine/finetune';
import type { LoraAdapter } from '../engine/lora';
import type { ModelStore } from '../engine/model-store';
import { exportPeft, importPeft } from '../engine/peft';
import type { ModelFiles } from '../engine/files';
import { nextTokenLabels, type Example } from '../engine/trainer';
import type { LoadedModel } from './api';
import type {
  AdapterFiles,
  CachedModel,
  FinetuneProgress,
  FinetuneRequest,
  FinetuneState,
  FinetuneStatus,
  LoadedAdapter,
  TrainApi,
  TrainCheckpointInfo,
} from './api-train';
import { CheckpointDb, checkpointKey } from './checkpoint-db';
import type { ModelEntry } from './model-entry';
import { methodOfRunKind } from '../methods/list';
import type { MethodRunRecord } from '../methods/kit/context';
import { modelKeyOf } from './model-key';

export interface TrainContext {
  entry(modelId: string): ModelEntry;
  checkpoints: CheckpointDb;
  modelStore(): ModelStore;
  /** Aborts Hub downloads in progress. */
  abortLoads(): void;
  /** Called once a page callback will not be called again (the worker closes its comlink port). */
  releaseCallback(cb: unknown): void;
}

interface LiveRun {
  id: string;
  key: string;
  modelId: string;
  run: FinetuneRun | FullFinetuneRun;
  ids: number[];
  record: TrainCheckpointInfo;
  state: FinetuneState;
  last: Omit<FinetuneProgress, 'runId' | 'state' | 'steps' | 'checkpointStep'>;
  losses: number[];
  checkpointStep: number;
  error?: string;
  /** What the loop should do before its next step. */
  want: 'pause' | 'cancel' | null;
  loop: Promise<void> | null;
  onProgress?: (p: FinetuneProgress) => void;
  /** Frees the page's callback behind onProgress when the run leaves (default: releaseCallback(onProgress)). */
  release?: () => void;
  /** Takes the finished run (a method's run: LatentQA makes its LoRA the decoder); the run then leaves this API. */
  handOff?: HandOff;
}

export type HandOff = (run: FinetuneRun, losses: number[], info: TrainCheckpointInfo) => Promise<void>;

/** What a method needs to run its LoRA training through this API's loop, pause / resume and checkpoints. */
export interface MethodRuns {
  /** Starts `steps` steps of `run` (its record marked with `method`) and returns the run id; `handOff` gets it once done. */
  begin(modelId: string, run: FinetuneRun, steps: number, method: MethodRunRecord, progress: RunProgress, handOff: HandOff): string;
  /** Continues a stored unfinished run from its checkpoint, on the examples `examples` builds again from its record. */
  reopen(modelId: string, key: string, examples: (info: TrainCheckpointInfo) => Promise<Example[]>, progress: RunProgress, handOff: HandOff): Promise<string>;
}

/** A method run's progress listener and how to free it once the run leaves. */
export interface RunProgress {
  onProgress?: (p: FinetuneProgress) => void;
  release?: () => void;
}

const fingerprint = (info: LoadedModel) => {
  const c = info.config;
  return `${c.arch} ${c.nLayers}x${c.hidden} vocab ${c.vocab}`;
};

/** Consecutive pieces of `seqLen` tokens (a last piece of one token is dropped: it has nothing to predict). */
export function cutExamples(ids: number[], seqLen: number): Example[] {
  const out: Example[] = [];
  for (let at = 0; at < ids.length - 1; at += seqLen) {
    const chunk = ids.slice(at, at + seqLen);
    if (chunk.length >= 2) out.push({ ids: chunk, labels: nextTokenLabels(chunk) });
  }
  return out;
}

export function createTrainApi(ctx: TrainContext): {
  api: TrainApi;
  /** The LoRA adapter an `adapter` option names (a run id or a loaded adapter id) for `modelId`. */
  loraFor(modelId: string, id: string | undefined): LoraAdapter | null;
  /** A model is being disposed: stop and free its runs (their checkpoints stay) and adapters. */
  forget(modelId: string): Promise<void>;
  methodRuns: MethodRuns;
} {
  const runs = new Map<string, LiveRun>();
  const adapters = new Map<string, { info: LoadedAdapter; lora: LoraAdapter }>();
  let nextAdapter = 1;

  const live = (runId: string): LiveRun => {
    const r = runs.get(runId);
    if (!r) throw new Error(`no training run "${runId}" in this tab (runs: ${[...runs.keys()].join(', ') || 'none'})`);
    return r;
  };

  const progress = (r: LiveRun): FinetuneProgress => ({
    runId: r.id,
    state: r.state,
    steps: r.record.steps,
    checkpointStep: r.checkpointStep,
    ...r.last,
    ...(r.error ? { error: r.error } : {}),
  });

  const status = (r: LiveRun): FinetuneStatus => ({ ...progress(r), losses: r.losses.slice(), key: r.key, modelId: r.modelId });

  const emit = (r: LiveRun) => {
    const cb = r.onProgress;
    // Fire and forget: a slow page must not stall the GPU loop.
    if (cb) Promise.resolve(cb(progress(r))).catch(() => undefined);
  };

  const save = async (r: LiveRun, status: TrainCheckpointInfo['status']) => {
    const e = ctx.entry(r.modelId);
    const bytes = await e.lock.run(() => r.run.checkpoint());
    r.record = { ...r.record, step: r.run.step, status, losses: r.losses.slice(0, r.run.step), bytes: bytes.length, updatedAt: Date.now() };
    await ctx.checkpoints.save({ info: r.record, ids: r.ids }, bytes);
    r.checkpointStep = r.run.step;
  };

  /** The run leaves this API; its GPU memory stays with whoever holds it. */
  const leave = (r: LiveRun) => {
    runs.delete(r.id);
    if (r.release) r.release();
    else ctx.releaseCallback(r.onProgress);
    r.onProgress = undefined;
    r.release = undefined;
  };

  const free = (r: LiveRun) => {
    leave(r);
    r.run.dispose();
  };

  async function loop(r: LiveRun): Promise<void> {
    const e = ctx.entry(r.modelId);
    const every = r.record.request.checkpointEvery ?? 10;
    try {
      while (r.run.step < r.record.steps && !r.want) {
        const s = await e.lock.run(async () => {
          const t0 = performance.now();
          const out = await r.run.next();
          return { out, ms: performance.now() - t0 };
        });
        r.losses[s.out.step - 1] = s.out.loss;
        r.losses.length = s.out.step;
        const { step, loss, gradNorm, lr, tokens, peakBytes } = s.out;
        r.last = { step, loss, gradNorm, lr, tokens, tokensPerSec: s.ms > 0 ? (tokens * 1000) / s.ms : 0, peakBytes };
        if (every > 0 && step % every === 0 && step < r.record.steps) await save(r, 'running');
        emit(r);
      }
      if (r.want === 'cancel') {
        r.state = 'cancelled';
        await ctx.checkpoints.remove(r.key);
      } else if (r.want === 'pause') {
        await save(r, 'paused');
        r.state = 'paused';
      } else if (r.handOff) {
        // The method keeps what it trained (and exports it); its checkpoint is no longer needed.
        await ctx.checkpoints.remove(r.key);
        await r.handOff(loraRun(r), r.losses.slice(), r.record);
        r.state = 'done';
      } else {
        await save(r, 'done');
        r.state = 'done';
      }
    } catch (err) {
      r.state = 'error';
      r.error = err instanceof Error ? err.message : String(err);
    }
    r.want = null;
    emit(r);
    if (r.state === 'cancelled' || r.state === 'error') free(r);
    else if (r.state === 'done' && r.handOff) leave(r);
  }

  const startLoop = (r: LiveRun) => {
    r.state = 'running';
    r.loop = loop(r);
  };

  function newRun(e: ModelEntry, data: Example[], req: FinetuneRequest): FinetuneRun | FullFinetuneRun {
    const common = { train: { ...req.train, totalSteps: req.steps }, batchSize: req.batchSize ?? 1, seed: req.seed ?? 0 };
    if (!req.full) return new FinetuneRun(e.model, data, { ...common, lora: { rank: req.lora.rank, alpha: req.lora.alpha, targets: [...req.lora.targets] } } satisfies FinetuneSettings);
    // Two full runs would train the same buffers at once.
    const other = [...runs.values()].find((r) => r.modelId === e.info.id && r.run instanceof FullFinetuneRun);
    if (other) throw new Error(`run ${other.id} already fine-tunes the weights of ${e.info.label}: cancel it first`);
    return new FullFinetuneRun(e.model, data, { ...common, weights: [...req.full.weights] } satisfies FullFinetuneSettings);
  }

  /** The run's LoRA adapter; a full fine-tuning run has none. */
  function loraRun(r: LiveRun): FinetuneRun {
    if (r.run instanceof FinetuneRun) return r.run;
    throw new Error(`run ${r.id} is full fine-tuning, which trains the model's weights, not an adapter (exportModel / exportDelta save it)`);
  }

  function fullRun(runId: string): { r: LiveRun; run: FullFinetuneRun } {
    const r = live(runId);
    if (!(r.run instanceof FullFinetuneRun)) throw new Error(`run ${runId} trains a LoRA adapter, not the model's weights (exportAdapter saves it)`);
    return { r, run: r.run };
  }

  function checkRequest(req: FinetuneRequest, info: LoadedModel): void {
    if (!Number.isInteger(req.steps) || req.steps < 1) throw new Error(`steps must be a positive integer, got ${req.steps}`);
    const seqLen = req.seqLen ?? 64;
    if (!Number.isInteger(seqLen) || seqLen < 2) throw new Error(`seqLen must be an integer ≥ 2, got ${seqLen}`);
    if (seqLen > info.config.maxPositions) throw new Error(`seqLen ${seqLen} exceeds the model's context of ${info.config.maxPositions}`);
    const b = req.batchSize ?? 1;
    if (!Number.isInteger(b) || b < 1) throw new Error(`batchSize must be a positive integer, got ${b}`);
    const every = req.checkpointEvery ?? 10;
    if (!Number.isInteger(every) || every < 0) throw new Error(`checkpointEvery must be a non-negative integer, got ${every}`);
    if (req.full && !(Array.isArray(req.full.weights) && req.full.weights.every((w) => typeof w === 'string'))) {
      throw new Error(`full.weights must be a list of weight-name patterns (e.g. ["*"] or ["layers.1.mlp.*"]), got ${JSON.stringify(req.full.weights)}`);
    }
    if (!req.full && !req.lora?.targets?.length) throw new Error('LoRA needs at least one target module');
  }

  const trainingIds = (e: ModelEntry, req: FinetuneRequest): number[] => {
    let ids: number[];
    if (req.ids && req.text) throw new Error('give the training data as text or as ids, not both');
    if (req.ids) ids = req.ids;
    else if (typeof req.text === 'string') {
      if (!e.tokenizer) throw new Error(`${e.info.label} has no tokenizer.json: give the training data as token ids`);
      ids = e.tokenizer.encode(req.text);
    } else throw new Error('no training data: give text or ids');
    const V = e.info.config.vocab;
    const bad = ids.find((x) => !Number.isInteger(x) || x < 0 || x >= V);
    if (bad !== undefined) throw new Error(`token id ${bad} is outside the vocabulary of ${e.info.label} (0..${V - 1})`);
    if (ids.length < 2) throw new Error('training needs at least two tokens');
    return ids;
  };

  const newRunId = () => `run-${Date.now().toString(36)}-${Math.floor(Math.random() * 36 ** 4).toString(36)}`;

  function track(modelId: string, run: FinetuneRun | FullFinetuneRun, ids: number[], record: TrainCheckpointInfo, losses: number[], onProgress?: (p: FinetuneProgress) => void, handOff?: HandOff, release?: () => void): LiveRun {
    const r: LiveRun = {
      id: record.runId, key: record.key, modelId, run, ids, record, state: 'running', losses,
      last: { step: run.step, loss: losses.at(-1) ?? NaN, gradNorm: NaN, lr: 0, tokens: 0, tokensPerSec: 0, peakBytes: 0 },
      checkpointStep: record.bytes ? record.step : 0, want: null, loop: null, onProgress, handOff, release,
    };
    runs.set(r.id, r);
    return r;
  }

  /** A new run's record (saved at its first checkpoint). */
  function newRecord(e: ModelEntry, request: TrainCheckpointInfo['request'], tokens: number, method?: MethodRunRecord): TrainCheckpointInfo {
    const runId = newRunId();
    const modelKey = modelKeyOf(e.info);
    const now = Date.now();
    return {
      key: checkpointKey(modelKey, runId), runId, modelKey, modelLabel: e.info.label, origin: e.info.origin,
      fingerprint: fingerprint(e.info), request, tokens, step: 0, steps: request.steps, status: 'running',
      losses: [], bytes: 0, createdAt: now, updatedAt: now, ...(method ? { method: { kind: method.kind, request: method.request } } : {}),
    };
  }

  /** A stored run continued from its checkpoint on `modelId`, on the examples it trained on. */
  async function reopen(modelId: string, key: string, examples: (info: TrainCheckpointInfo, ids: number[]) => Example[] | Promise<Example[]>, onProgress?: (p: FinetuneProgress) => void, handOff?: HandOff, release?: () => void): Promise<LiveRun> {
    const e = ctx.entry(modelId);
    const stored = await ctx.checkpoints.get(key);
    if (!stored) throw new Error(`no training checkpoint "${key}" in IndexedDB`);
    const { run: rec, bytes } = stored;
    const info = rec.info;
    if (info.fingerprint !== fingerprint(e.info)) {
      throw new Error(`checkpoint ${key} was trained on ${info.modelLabel} (${info.fingerprint}); ${e.info.label} is ${fingerprint(e.info)}`);
    }
    if (runs.has(info.runId)) throw new Error(`run ${info.runId} is already open in this tab`);
    const run = resumeRun(e.model, await examples(info, rec.ids), bytes);
    const r = track(modelId, run, rec.ids, info, info.losses.slice(0, run.step), onProgress, handOff, release);
    r.checkpointStep = run.step;
    return r;
  }

  const api: TrainApi = {
    async startFinetune(modelId, req, onProgress) {
      const e = ctx.entry(modelId);
      checkRequest(req, e.info);
      const ids = trainingIds(e, req);
      const data = cutExamples(ids, req.seqLen ?? 64);
      const run = newRun(e, data, req);
      const { ids: _drop, ...rest } = req;
      const request = { ...rest, ...(rest.text ? { text: rest.text.slice(0, 2000) } : {}), checkpointEvery: req.checkpointEvery ?? 10, seqLen: req.seqLen ?? 64 };
      const record = newRecord(e, request, ids.length);
      startLoop(track(modelId, run, ids, record, [], onProgress));
      return record.runId;
    },

    async pauseFinetune(runId) {
      const r = live(runId);
      if (r.state === 'running') {
        r.want = 'pause';
        await r.loop;
      }
      return status(r);
    },

    async resumeFinetune(runId) {
      const r = live(runId);
      if (r.state !== 'paused') throw new Error(`run ${runId} is ${r.state}, not paused`);
      startLoop(r);
      emit(r);
      return status(r);
    },

    async cancelFinetune(runId) {
      const r = live(runId);
      if (r.state === 'running') {
        r.want = 'cancel';
        await r.loop;
      } else if (r.state === 'paused') {
        r.state = 'cancelled';
        await ctx.checkpoints.remove(r.key);
        emit(r);
        free(r);
      } else {
        // A finished run: only its GPU memory goes; the checkpoint stays.
        free(r);
      }
      return status(r);
    },

    async finetuneStatus(runId) {
      return status(live(runId));
    },

    listCheckpoints: () => ctx.checkpoints.list(),

    async resumeFromCheckpoint(modelId, key, onProgress) {
      const r = await reopen(modelId, key, (info, ids) => {
        if (info.method) {
          const m = methodOfRunKind(info.method.kind);
          throw new Error(`checkpoint ${key} is a ${m?.title ?? info.method.kind} run: resume it on the ${m?.title ?? info.method.kind} page`);
        }
        return cutExamples(ids, info.request.seqLen ?? 64);
      }, onProgress);
      if (r.run.step >= r.record.steps) {
        r.state = 'done';
        emit(r);
      } else startLoop(r);
      return r.id;
    },

    deleteCheckpoint: (key) => ctx.checkpoints.remove(key),

    async exportModel(runId) {
      const { r } = fullRun(runId);
      const e = ctx.entry(r.modelId);
      if (!e.files) throw new Error(`${e.info.label} was loaded from a GGUF file: a Hugging Face folder needs the base's config.json and tokenizer`);
      return e.lock.run(() => exportHfModel(e.model, e.files!));
    },

    async exportDelta(runId) {
      const { r, run } = fullRun(runId);
      return ctx.entry(r.modelId).lock.run(() => run.delta());
    },

    async exportAdapter(id) {
      const r = runs.get(id);
      const a = adapters.get(id);
      if (!r && !a) throw new Error(`no training run or adapter "${id}"`);
      const e = ctx.entry(r ? r.modelId : a!.info.modelId);
      const lora = r ? loraRun(r).lora : a!.lora;
      const peft = await e.lock.run(() => exportPeft(e.model.parts.rt, e.info.config, lora, e.info.origin?.kind === 'hub' ? e.info.origin.repo : e.info.label));
      return peft as AdapterFiles;
    },

    async loadAdapter(modelId, files, label) {
      const e = ctx.entry(modelId);
      const byName = new Map<string, Blob | Uint8Array | string>();
      // A picked folder keys files by their path ("my-adapter/adapter_config.json"): the file name decides.
      for (const [path, f] of Object.entries(files)) byName.set(path.split('/').pop()!, f);
      const name = label ?? (Object.keys(files)[0]?.includes('/') ? Object.keys(files)[0].split('/')[0] : 'adapter');
      const mf: ModelFiles = {
        label: name,
        async read(path) {
          const f = byName.get(path);
          if (f === undefined) return null;
          if (typeof f === 'string') return new TextEncoder().encode(f);
          return f instanceof Uint8Array ? f : new Uint8Array(await f.arrayBuffer());
        },
      };
      const lora = await e.lock.run(() => importPeft(e.model.parts.rt, e.info.config, mf));
      const info: LoadedAdapter = {
        id: `a${nextAdapter++}`, modelId, label: name, rank: lora.config.rank, alpha: lora.config.alpha,
        targets: [...lora.config.targets], modules: lora.modules.size,
      };
      adapters.set(info.id, { info, lora });
      return info;
    },

    async disposeAdapter(id) {
      const a = adapters.get(id);
      if (!a) throw new Error(`no adapter "${id}"`);
      adapters.delete(id);
      const e = ctx.entry(a.info.modelId);
      await e.lock.run(async () => a.lora.destroy());
    },

    async cancelLoad() {
      ctx.abortLoads();
    },

    async cachedModels(): Promise<CachedModel[]> {
      return (await ctx.modelStore().list()).map((m) => ({ ...m }));
    },

    deleteCachedModel: (key) => ctx.modelStore().remove(key),

    clearCachedModels: () => ctx.modelStore().clear(),
  };

  return {
    api,
    methodRuns: {
      begin(modelId, run, steps, method, progress, handOff) {
        const e = ctx.entry(modelId);
        const s = run.settings;
        const request = { lora: s.lora, train: s.train, steps, batchSize: s.batchSize, seed: s.seed, checkpointEvery: method.checkpointEvery };
        const tokens = run.data.reduce((n, x) => n + x.ids.length, 0);
        const record = newRecord(e, request, tokens, method);
        startLoop(track(modelId, run, [], record, [], progress.onProgress, handOff, progress.release));
        return record.runId;
      },
      async reopen(modelId, key, examples, progress, handOff) {
        const r = await reopen(modelId, key, examples, progress.onProgress, handOff, progress.release);
        // A method's finished runs leave no checkpoint, so a stored one always has steps left.
        startLoop(r);
        return r.id;
      },
    },
    loraFor(modelId, id) {
      if (!id) return null;
      const r = runs.get(id);
      if (r) {
        if (r.modelId !== modelId) throw new Error(`run ${id} trains another model (${r.modelId}), not ${modelId}`);
        return loraRun(r).lora;
      }
      const a = adapters.get(id);
      if (!a) throw new Error(`no training run or adapter "${id}"`);
      if (a.info.modelId !== modelId) throw new Error(`adapter ${id} belongs to another model (${a.info.modelId}), not ${modelId}`);
      return a.lora;
    },
    async forget(modelId) {
      for (const r of [...runs.values()].filter((x) => x.modelId === modelId)) {
        if (r.state === 'running') {
          // Paused (and checkpointed) rather than cancelled: the run can be resumed on the model loaded again.
          r.want = 'pause';
          await r.loop;
        }
        if (r.state === 'paused') {
          r.state = 'closed';
          emit(r);
        }
        free(r);
      }
      for (const [id, a] of [...adapters].filter(([, x]) => x.info.modelId === modelId)) {
        adapters.delete(id);
        a.lora.destroy();
      }
    },
  };
}
