// The CLI's MethodContext (src/methods/kit/context.ts): the model --model loaded (with --adapter applied to its
// forwards), Dawn's device, progress on stderr, a store in memory or one JSON file, and training runs stepped to
// their end in this process. The session lives until close().
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Gpu } from '../gpu/device';
import { runtimeFor } from '../engine/model';
import { lossGradients } from '../engine/trainer';
import { folderFiles } from '../engine/files-node';
import { checkIds, engineCalls, sha256Hex, type MethodContext, type MethodProgress, type MethodStore, type ModelAccess } from '../methods/kit/context';
import type { Loaded } from './engine-commands';

export interface NodeContextOptions {
  /** The model --model loaded, or null for a method that needs none. */
  loaded: Loaded | null;
  /** The folder --model named (shipped decoders sit beside it; its weights are hashed). */
  modelDir: string | null;
  gpu: Gpu | null;
  onProgress?: (p: MethodProgress) => void;
  store?: MethodStore;
}

/** Weights larger than this are not hashed (a decoder trained on them records no sha256, and none is checked). */
const HASH_LIMIT = 256 << 20;

export function nodeContext(o: NodeContextOptions): MethodContext & { close(): void } {
  let state: { value: object; free?: (s: object) => void } | null = null;
  const l = o.loaded;
  const model: ModelAccess | null = l && {
    ...engineCalls(l.model, (job) => job()),
    label: l.model.label,
    config: l.model.config,
    tokenizer: l.tokenizer,
    use: (job) => job(l.model),
    async forward(ids, opts = {}) {
      checkIds(ids, l.model.config, l.model.label);
      const r = await l.model.forward(ids, { ...opts, lora: opts.lora ?? l.lora });
      return { logits: r.logits ?? null, cache: r.cache };
    },
    async gradients(ids, labels, hooks, lora) {
      checkIds(ids, l.model.config, l.model.label);
      const r = await lossGradients(l.model.parts, { ids, labels }, hooks, lora ?? l.lora);
      return { loss: r.loss, cache: r.cache };
    },
    beside(suffix) {
      const dir = o.modelDir && `${o.modelDir.replace(/\/+$/, '')}${suffix}`;
      return dir && existsSync(dir) ? folderFiles(dir) : null;
    },
    async weightsSha256() {
      const f = o.modelDir ? join(o.modelDir, 'model.safetensors') : '';
      if (!f || !existsSync(f) || statSync(f).size > HASH_LIMIT) return null;
      return sha256Hex(new Uint8Array(readFileSync(f)));
    },
  };
  const progress = (p: MethodProgress) => o.onProgress?.(p);
  return {
    model,
    async runtime() {
      // The loaded model's device is the process's one device (nodeGpu).
      if (o.gpu) return runtimeFor(o.gpu);
      if (l) return l.model.parts.rt;
      throw new Error('no GPU given');
    },
    progress: (stage, done, total, detail) => progress({ stage, done, total, ...(detail === undefined ? {} : { detail }) }),
    signal: new AbortController().signal,
    store: o.store ?? memoryStore(),
    files: (location) => folderFiles(location),
    training: {
      async start(run, steps, record, done) {
        const losses: number[] = [];
        while (run.step < steps) {
          const r = await run.next();
          losses.push(r.loss);
          progress({ stage: 'train', done: r.step, total: steps, detail: { loss: r.loss } });
        }
        await done(run, losses, record);
        return 'cli';
      },
      async resume() {
        throw new Error('the CLI keeps no checkpoints of method runs: train again');
      },
    },
    session(make, free) {
      state ??= { value: make(), free: free as (s: object) => void };
      return state.value as ReturnType<typeof make>;
    },
    /** Frees the method's state (a loaded decoder) before the model goes. */
    close() {
      state?.free?.(state.value);
      state = null;
    },
  };
}

export function memoryStore(): MethodStore {
  const m = new Map<string, unknown>();
  return { get: async (k) => m.get(k), put: async (k, v) => void m.set(k, v) };
}

/** A store of one JSON file whatever the key (`--fit FILE`): read when it exists, written on put. */
export function fileStore(file: string): MethodStore {
  return {
    get: async () => (existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined),
    put: async (_k, v) => writeFileSync(file, JSON.stringify(v)),
  };
}
