// The worker's MethodContext (src/methods/kit/context.ts) and the one worker call every method goes through:
// `method(id, call, modelId, request, onProgress)` runs `calls[call]` of the method's module (src/methods/list.ts)
// on the loaded model, and `cancelMethod(id, modelId)` aborts the signal of that method's calls on it. Fits are
// stored in IndexedDB (database "latentlab-<method id>", store "fits"; in memory where there is none: Node tests);
// training runs go through the Train page's loop (train-api.ts methodRuns); per-model state is freed with the model.
import { openDB, type IDBPDatabase } from 'idb';
import type { Gpu } from '../gpu/device';
import { urlFiles } from '../engine/files';
import { lossGradients } from '../engine/trainer';
import { runtimeFor } from '../engine/model';
import type { FinetuneRun } from '../engine/finetune';
import { checkIds, engineCalls, sha256Hex, type MethodContext, type MethodProgress, type MethodStore, type ModelAccess, type TrainingHost } from '../methods/kit/context';
import type { MethodModule } from '../methods/kit/method';
import { findMethod, type MethodEntry } from '../methods/list';
import type { FinetuneProgress, TrainCheckpointInfo } from './api-train';
import type { ModelEntry } from './model-entry';
import type { MethodRuns } from './train-api';

export interface MethodsApi {
  /**
   * Runs call `call` of method `id` on the loaded model `modelId` (null for a method that needs none) with one
   * plain-data request. `onProgress` (through callback()) sees the call's progress; a training run it starts keeps
   * reporting there (detail: the run's FinetuneProgress) until the run ends.
   */
  method(id: string, call: string, modelId: string | null, request: unknown, onProgress?: (p: MethodProgress) => void): Promise<unknown>;
  /** Aborts the signal of method `id`'s calls in progress on `modelId` (each stops as its method says). */
  cancelMethod(id: string, modelId: string | null): Promise<void>;
}

export interface MethodHostDeps {
  entry(modelId: string): ModelEntry;
  device(): Promise<Gpu>;
  runs: MethodRuns;
  releaseCallback(cb: unknown): void;
  /** Default: the list in src/methods/list.ts. */
  methods?: MethodEntry[];
  /** Default: IndexedDB "latentlab-<method id>" where there is one, else memory. */
  store?(methodId: string): MethodStore;
}

interface Session {
  state: object;
  free?: (state: object) => void;
}

export function createMethodHost(deps: MethodHostDeps): MethodsApi & { forget(modelId: string): void } {
  const methods = deps.methods ?? undefined;
  const modules = new Map<string, Promise<MethodModule>>();
  const stores = new Map<string, MethodStore>();
  const sessions = new Map<string, Session>();
  const running = new Map<string, Set<AbortController>>();
  const slot = (id: string, modelId: string | null) => `${id}\u0000${modelId ?? ''}`;

  const moduleOf = (id: string) => {
    let m = modules.get(id);
    if (!m) modules.set(id, (m = findMethod(id, methods).load()));
    return m;
  };
  const storeOf = (id: string) => {
    let s = stores.get(id);
    if (!s) stores.set(id, (s = deps.store?.(id) ?? (typeof indexedDB === 'undefined' ? memoryStore() : idbStore(`latentlab-${id}`))));
    return s;
  };

  const access = (modelId: string): ModelAccess => {
    const e = deps.entry(modelId);
    const origin = e.info.origin;
    const folder = origin?.kind === 'url' ? origin.baseUrl.replace(/\/+$/, '') : null;
    return {
      ...engineCalls(e.model, (job) => e.lock.run(job)),
      label: e.info.label,
      config: e.info.config,
      tokenizer: e.tokenizer,
      use: (job) => e.lock.run(() => job(e.model)),
      forward(ids, opts = {}) {
        checkIds(ids, e.info.config, e.info.label);
        return e.lock.run(async () => {
          const r = await e.model.forward(ids, opts);
          return { logits: r.logits ?? null, cache: r.cache };
        });
      },
      gradients(ids, labels, hooks, lora = null) {
        checkIds(ids, e.info.config, e.info.label);
        return e.lock.run(async () => {
          const r = await lossGradients(e.model.parts, { ids, labels }, hooks, lora);
          return { loss: r.loss, cache: r.cache };
        });
      },
      beside: (suffix) => (folder ? urlFiles(`${folder}${suffix}/`) : null),
      async weightsSha256() {
        if (!folder) return null;
        const bytes = await urlFiles(folder).read('model.safetensors');
        return bytes ? sha256Hex(bytes) : null;
      },
    };
  };

  const training = (modelId: string | null, tell: (p: FinetuneProgress) => void, handOver: () => () => void): TrainingHost => {
    const need = () => {
      if (modelId === null) throw new Error('training needs a loaded model');
      return modelId;
    };
    const record = (info: TrainCheckpointInfo) => ({ kind: info.method!.kind, request: info.method!.request, checkpointEvery: info.request.checkpointEvery ?? 10 });
    return {
      async start(run, steps, rec, done) {
        return deps.runs.begin(need(), run, steps, rec, { onProgress: tell, release: handOver() }, (r: FinetuneRun, losses, info) => done(r, losses, record(info)));
      },
      async resume(key, examples, done) {
        return deps.runs.reopen(need(), key, async (info) => {
          if (!info.method) throw new Error(`checkpoint ${key} is a Train page run: resume it on the Train page`);
          return examples(record(info));
        }, { onProgress: tell, release: handOver() }, (r, losses, info) => done(r, losses, record(info)));
      },
    };
  };

  return {
    async method(id, call, modelId, request, onProgress) {
      // The page's callback is freed when the call ends, unless a training run took it over.
      let kept = false;
      const release = () => onProgress && deps.releaseCallback(onProgress);
      // Registered before the first await, so a cancel sent right after the call reaches it.
      const abort = new AbortController();
      const key = slot(id, modelId);
      let set = running.get(key);
      if (!set) running.set(key, (set = new Set()));
      set.add(abort);
      try {
        const mod = await moduleOf(id);
        const f = mod.calls[call];
        if (!f) throw new Error(`method ${id} has no call "${call}" (calls: ${Object.keys(mod.calls).join(', ')})`);
        const model = modelId === null ? null : access(modelId);
        const tell = (p: MethodProgress) => void (onProgress && Promise.resolve(onProgress(p)).catch(() => undefined));
        const ctx: MethodContext = {
          model,
          runtime: async () => runtimeFor(await deps.device()),
          // Fire and forget: a slow page must not stall the GPU loop.
          progress: (stage, done, total, detail) => tell({ stage, done, total, ...(detail === undefined ? {} : { detail }) }),
          signal: abort.signal,
          store: storeOf(id),
          files: (location) => urlFiles(location),
          training: training(modelId, (p) => tell({ stage: 'train', done: p.step, total: p.steps, detail: p }), () => ((kept = true), release)),
          session(make, free) {
            let s = sessions.get(key);
            if (!s) sessions.set(key, (s = { state: make(), free: free as Session['free'] }));
            return s.state as ReturnType<typeof make>;
          },
        };
        return await f(ctx, request);
      } finally {
        set.delete(abort);
        if (!kept) release();
      }
    },

    async cancelMethod(id, modelId) {
      running.get(slot(id, modelId))?.forEach((a) => a.abort());
    },

    forget(modelId) {
      for (const [key, set] of running) if (key.endsWith(`\u0000${modelId}`)) set.forEach((a) => a.abort());
      for (const [key, s] of sessions) {
        if (!key.endsWith(`\u0000${modelId}`)) continue;
        sessions.delete(key);
        s.free?.(s.state);
      }
    },
  };
}

function memoryStore(): MethodStore {
  const m = new Map<string, unknown>();
  return { get: async (k) => m.get(k), put: async (k, v) => void m.set(k, v) };
}

/** Object store "fits" of database `name` (the layout propositional probes' cache had before the kit: kept as it was). */
function idbStore(name: string): MethodStore {
  let db: Promise<IDBPDatabase> | null = null;
  const open = () => (db ??= openDB(name, 1, { upgrade: (d) => void d.createObjectStore('fits') }));
  return {
    get: async (k) => (await open()).get('fits', k),
    put: async (k, v) => void (await (await open()).put('fits', v, k)),
  };
}
