// The engine API the worker exposes: loaded models by id, plain data in and out.
// It takes the GPU as a function so the same object runs in the worker (navigator.gpu) and in Node tests (Dawn).

import type { Gpu } from '../gpu/device';
import type { ModelStore } from '../engine/model-store';
import { IdbStore } from '../engine/store-idb';
import { hookNames, hookShape } from '../engine/hooks';
import { defaultStopIds, Tokenizer } from '../engine/tokenizer';
import { lossGradients } from '../engine/trainer';
import type { HookSpec } from '../engine/hooks';
import type {
  AdapterInfo,
  ChatMessage,
  EngineApi,
  ForwardOptions,
  ForwardResult,
  GenerateOptions,
  GenerateResult,
  GradientsResult,
  LoadedModel,
  LoadModelOptions,
  ModelSource,
  DownloadProgress,
  StreamedToken,
  Tokenized,
  TokenizeOptions,
  TopToken,
} from './api';
import { CheckpointDb } from './checkpoint-db';
import { openSource } from './sources';
import { createTrainApi } from './train-api';
import { Lock } from './lock';
import { topK } from '../common/topk';
import { pieceAfter } from '../methods/explore/pieces';
import { createMethodHost } from './method-host';
import { createBatchApi } from './batch-api';
import type { ModelEntry as Entry } from './model-entry';
import { checkIds as checkModelIds } from '../methods/kit/context';
import type { MethodEntry } from '../methods/list';
import type { MethodStore } from '../methods/kit/context';

export interface EngineApiOptions {
  /** Where Hub downloads are cached (default IndexedDB "latentlab-models"). */
  modelStore?: () => ModelStore;
  /** Where training checkpoints go (default IndexedDB "latentlab-training"). */
  checkpoints?: CheckpointDb;
  /** Called once a page callback will not be called again (the worker closes its comlink port). */
  releaseCallback?: (cb: unknown) => void;
  /** The methods EngineApi.method runs (default: src/methods/list.ts). */
  methods?: MethodEntry[];
  /** Where a method stores its fits (default: IndexedDB "latentlab-<method id>", or memory where there is none). */
  methodStore?: (methodId: string) => MethodStore;
}

export function createEngineApi(getGpu: () => Promise<Gpu>, options: EngineApiOptions = {}): EngineApi {
  let gpu: Promise<Gpu> | null = null;
  const models = new Map<string, Entry>();
  let nextId = 1;

  const device = () => (gpu ??= getGpu().catch((e) => ((gpu = null), Promise.reject(e))));
  let store: ModelStore | null = null;
  const modelStore = () => (store ??= options.modelStore?.() ?? new IdbStore());
  const loads = new Set<AbortController>();

  const entry = (id: string): Entry => {
    const e = models.get(id);
    if (!e) throw new Error(`no loaded model with id "${id}" (loaded: ${[...models.keys()].join(', ') || 'none'})`);
    return e;
  };

  const needTokenizer = (e: Entry): Tokenizer => {
    if (!e.tokenizer) throw new Error(`${e.info.label} has no tokenizer.json; pass token ids instead of text`);
    return e.tokenizer;
  };

  const train = createTrainApi({
    entry,
    checkpoints: options.checkpoints ?? new CheckpointDb(),
    modelStore,
    abortLoads: () => loads.forEach((c) => c.abort()),
    releaseCallback: (cb) => cb && options.releaseCallback?.(cb),
  });

  // Every method (src/methods/list.ts) runs through one call, on the loaded model and this worker's device.
  const methods = createMethodHost({
    entry,
    device,
    runs: train.methodRuns,
    releaseCallback: (cb) => options.releaseCallback?.(cb),
    methods: options.methods,
    store: options.methodStore,
  });

  const api: EngineApi = {
    ...train.api,
    ...createBatchApi({ entry, loraFor: train.loraFor }),
    method: methods.method,
    cancelMethod: methods.cancelMethod,
    async init(): Promise<AdapterInfo> {
      const g = await device();
      return { ...g.adapter, features: { ...g.features }, limits: { ...g.limits } };
    },

    async loadModel(source: ModelSource, opts: LoadModelOptions = {}, onProgress?: (p: DownloadProgress) => void): Promise<LoadedModel> {
      const g = await device();
      const load = { dtype: opts.dtype ?? 'auto', budgetBytes: opts.budgetBytes };
      const abort = new AbortController();
      loads.add(abort);
      let opened, label, origin;
      try {
        ({ opened, label, origin } = await openSource(g, source, load, { modelStore, signal: abort.signal, onProgress }));
      } finally {
        loads.delete(abort);
      }
      const { model, tokenizer } = opened;
      const id = `m${nextId++}`;
      const info: LoadedModel = {
        id,
        label,
        config: model.config,
        dtype: model.dtype,
        weightBytes: model.weightBytes,
        hasTokenizer: tokenizer !== null,
        hasChatTemplate: tokenizer?.hasChatTemplate ?? false,
        tokenizerNote: opened.tokenizerNote ?? '',
        hookNames: hookNames(model.config),
        origin,
      };
      models.set(id, { info, model, tokenizer, lock: new Lock(), files: opened.files });
      return info;
    },

    async tokenize(modelId: string, input: string | ChatMessage[], opts: TokenizeOptions = {}): Promise<Tokenized> {
      const tok = needTokenizer(entry(modelId));
      let ids: number[];
      if (opts.chat || Array.isArray(input)) {
        const messages = typeof input === 'string' ? [{ role: 'user', content: input }] : input;
        ids = tok.applyChatTemplate(messages, { addGenerationPrompt: opts.addGenerationPrompt ?? true });
      } else {
        ids = tok.encode(input, { addSpecialTokens: opts.addSpecialTokens ?? true });
      }
      return { ids, tokens: tok.tokenStrings(ids) };
    },

    async decode(modelId: string, ids: number[], opts: { skipSpecialTokens?: boolean } = {}): Promise<string> {
      return needTokenizer(entry(modelId)).decode(ids, opts);
    },

    async tokenStrings(modelId: string, ids: number[]): Promise<string[]> {
      const e = entry(modelId);
      checkIds(ids, e.info);
      return e.tokenizer ? e.tokenizer.tokenStrings(ids) : ids.map((id) => `#${id}`);
    },

    async forward(modelId: string, ids: number[], opts: ForwardOptions = {}): Promise<ForwardResult> {
      const e = entry(modelId);
      checkIds(ids, e.info);
      const t0 = performance.now();
      const want = opts.logits ?? 'last';
      const lora = train.loraFor(modelId, opts.adapter);
      const out = await e.lock.run(() => e.model.forward(ids, { hooks: opts.hooks, logits: want, lora }));
      const ms = performance.now() - t0;
      const V = e.info.config.vocab;
      const T = ids.length;
      // The engine returns [V] for 'last' and [T × V] for 'all' (a 'logits' hook also forces 'all').
      const got = out.logits ?? new Float32Array(0);
      const lastRow = got.length >= V ? got.subarray(got.length - V) : got;
      const top: TopToken[] = topK(lastRow, opts.top ?? 0).map((r) => ({ ...r, text: pieceAfter(e.tokenizer, ids, r.id) }));
      const logits = want === 'all' || got.length === V ? got : lastRow.slice();
      const shapes: Record<string, number[]> = {};
      for (const name of Object.keys(out.cache)) shapes[name] = hookShape(e.info.config, name, T).dims;
      return { logits, logitRows: logits.length / V, vocab: V, cache: out.cache, shapes, top, ms };
    },

    async gradients(modelId: string, ids: number[], labels: number[], hooks: HookSpec[]): Promise<GradientsResult> {
      const e = entry(modelId);
      checkIds(ids, e.info);
      const out = await e.lock.run(() => lossGradients(e.model.parts, { ids, labels }, hooks));
      return { loss: out.loss, cache: out.cache };
    },

    async generate(
      modelId: string,
      ids: number[],
      opts: GenerateOptions,
      onToken?: (t: StreamedToken) => void,
    ): Promise<GenerateResult> {
      const e = entry(modelId);
      checkIds(ids, e.info);
      const stop = opts.stop ?? defaultStopIds(e.info.config, e.tokenizer);
      const context = ids.slice();
      let index = 0;
      const lora = train.loraFor(modelId, opts.adapter);
      const t0 = performance.now();
      const newIds = await e.lock.run(() =>
        e.model.generate(
          ids,
          {
            maxNewTokens: opts.maxNewTokens,
            temperature: opts.temperature ?? 0,
            topK: opts.topK ?? 0,
            topP: opts.topP ?? 1,
            seed: opts.seed ?? 0,
            stop,
            hooks: opts.hooks,
            lora,
          },
          (id: number) => {
            const text = pieceAfter(e.tokenizer, context, id);
            context.push(id);
            // Fire and forget: a slow page must not stall the GPU loop.
            if (onToken) Promise.resolve(onToken({ id, text, index: index++ })).catch(() => undefined);
          },
        ),
      );
      const text = e.tokenizer ? e.tokenizer.decode(newIds) : '';
      return { ids: newIds, text, ms: performance.now() - t0 };
    },

    async dispose(modelId: string): Promise<void> {
      const e = entry(modelId);
      await train.forget(modelId);
      methods.forget(modelId);
      models.delete(modelId);
      await e.lock.run(async () => e.model.dispose());
    },
  };
  return api;
}

const checkIds = (ids: number[], info: LoadedModel): void => checkModelIds(ids, info.config, info.label);
