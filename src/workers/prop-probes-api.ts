// Propositional probes (src/methods/prop-probes) in the engine worker, next to the loaded models: fit the domain probes
// and the Hessian binding subspace, decode a context, evaluate a set. engine-api.ts mixes these methods into the engine
// API; the page reaches them through client.ts. Forwards and gradients go through the engine API's own `forward` and
// `gradients` (the same calls, locks and checks as a page's), pieces are encoded with the model's tokenizer here, and
// fits stay in the worker: the page holds a summary and the fit's key. Fits are cached in IndexedDB
// ("latentlab-prop-probes", store "fits", as fitToJson) per model label, layers and rank; where there is no IndexedDB
// (Node) the cache is this API's memory. Everything returned is plain data.

import { openDB, type IDBPDatabase } from 'idb';
import type { Tokenizer } from '../engine/tokenizer';
import { encodePieces, makeSet, pieces } from '../methods/prop-probes/data';
import { encoderFor } from '../methods/prop-probes/encoder';
import {
  decodeActs,
  evaluateSet,
  fitFromJson,
  fitPropProbes,
  fitToJson,
  readItem,
  type Decoded,
  type PropProbeFit,
  type SetReport,
} from '../methods/prop-probes/pipeline';
import { promptingProps } from '../methods/prop-probes/prompting';
import type { PieceEncoder, ProbeBackend, ProbeItem, ProbeSet, Prop, Question } from '../methods/prop-probes/types';
import { bindingQuestion } from '../toyworld/families/binding';
import type { ForwardOptions, ForwardResult, GradientsResult, LoadedModel } from './api';
import type { HookSpec } from '../engine/hooks';

export type { Decoded, ProbeItem, ProbeSet, Prop, SetReport };
// Unused here, but part of the shapes above (so a page can name them).
export type { Binding } from '../methods/prop-probes/composition';
export type { ProbeHit } from '../methods/prop-probes/domain-probes';

/** The page's fit settings (the rest of the method's options keep their defaults; the seed is 0). */
export interface ProbeSettings {
  probeLayer: number;
  bindingLayer: number;
  /** Rank of the binding form (capped by d_model). */
  k: number;
  trainContexts: number;
  hessianPrompts: number;
  estimator: 'auto' | 'full' | 'randomized';
}

/** What the page shows and exports of a fit (the fit itself stays in the worker, under `key`). */
export interface ProbeFitSummary {
  /** The fit's cache key: model label, layers and rank. Pass it to probesRead / probesEvaluate. */
  key: string;
  model: string;
  probeLayer: number;
  bindingLayer: number;
  seed: number;
  form: { k: number; estimator?: 'full' | 'randomized'; objective?: 'prob' | 'logprob'; passes?: number; spectrum?: number[] };
  probes: { domain: string; offset: number; threshold: number; values: string[] }[];
  seconds: { probes: number; subspace: number };
}

export interface ProbesFitResult {
  fit: ProbeFitSummary;
  from: 'IndexedDB cache' | 'fitted now';
}

/** A context to decode: an item made by probesMakeContext (its questions and truth are used), or typed text. */
export type ProbeContext = ProbeItem | { text: string };

export interface ProbeReading {
  /** Each token's display text and the domain-probe labels at it ("occupation: nurse"). */
  tokens: { text: string; labels: string[] }[];
  decoded: Decoded;
  /** The model's own answers: the item's questions, or for typed text every found name × found domain. */
  answers: { name: string; domain: string; said: string | null }[];
  truth: Prop[] | null;
}

export type ProbesProgress = (stage: string, done: number, total: number) => unknown;

export interface PropProbesApi {
  /** The cached fit for these settings, loaded into the worker, or null. */
  probesCached(modelId: string, settings: ProbeSettings): Promise<ProbeFitSummary | null>;
  /**
   * The cached fit (unless `force`), else a new fit, stored in the cache. `onProgress` (through callback()) sees each
   * stage; probesCancel stops it.
   */
  probesFit(modelId: string, settings: ProbeSettings, opts?: { force?: boolean }, onProgress?: ProbesProgress): Promise<ProbesFitResult>;
  /** Stops the model's fits in progress (they reject with "… cancelled"). */
  probesCancel(modelId: string): Promise<void>;
  /** One seeded item of an evaluation set. */
  probesMakeContext(modelId: string, set: ProbeSet, seed: number): Promise<ProbeItem>;
  /** Decode a context with a fit this worker holds (probesFit / probesCached gave its key). */
  probesRead(modelId: string, fitKey: string, context: ProbeContext): Promise<ProbeReading>;
  /** EM / Jaccard of probes, prompting and the random subspace on `n` items of a set (seeded). */
  probesEvaluate(modelId: string, fitKey: string, set: ProbeSet, n: number, seed: number, onProgress?: ProbesProgress): Promise<SetReport>;
}

/** Where fits are cached, as fitToJson gives them. */
export interface ProbeFitStore {
  get(key: string): Promise<unknown>;
  put(key: string, json: unknown): Promise<void>;
}

export interface PropProbesDeps {
  model(modelId: string): { info: LoadedModel; tokenizer: Tokenizer | null };
  forward(modelId: string, ids: number[], opts: ForwardOptions): Promise<ForwardResult>;
  gradients(modelId: string, ids: number[], labels: number[], hooks: HookSpec[]): Promise<GradientsResult>;
  /** Called once a page callback will not be called again. */
  releaseCallback?: (cb: unknown) => void;
  /** Default: IndexedDB where there is one, else memory. */
  fitStore?: ProbeFitStore;
}

export const probeFitKey = (model: string, probeLayer: number, bindingLayer: number, k: number) => `${model}|probe${probeLayer}|bind${bindingLayer}|k${k}`;

/** Words and punctuation of typed text, as the generator's canonical form (single spaces). */
export function canonical(text: string): string {
  return (text.match(/<[^>\s]+>|[\p{L}\p{N}'’-]+|[^\s\p{L}\p{N}]/gu) ?? []).join(' ');
}

export function createPropProbesApi(deps: PropProbesDeps): PropProbesApi & { forget(modelId: string): void } {
  const store = deps.fitStore ?? (typeof indexedDB === 'undefined' ? memoryStore() : idbStore());
  /** Per model: its piece encoder and the fits loaded or made here (by key). */
  const state = new Map<string, { enc: PieceEncoder; fits: Map<string, PropProbeFit>; running: Set<{ aborted: boolean }> }>();

  const session = (modelId: string) => {
    const m = deps.model(modelId);
    let s = state.get(modelId);
    if (!s) {
      const tok = m.tokenizer;
      if (!tok) throw new Error(`propositional probes need the model's tokenizer, and ${m.info.label} has none`);
      // The toy world's word text when the tokenizer is the toy world's, English otherwise (BOS from the config).
      const enc = encoderFor({ encode: (t, o) => tok.encode(t, o), bosId: m.info.config.bosTokenId ?? null });
      state.set(modelId, (s = { enc, fits: new Map(), running: new Set() }));
    }
    return { ...s, info: m.info };
  };

  const backend = (info: LoadedModel): ProbeBackend => ({
    d: info.config.hidden,
    nLayers: info.config.nLayers,
    async forward(ids, hooks) {
      const r = await deps.forward(info.id, ids, { hooks, logits: 'last' });
      return { last: r.logits, cache: r.cache };
    },
    gradients: (ids, labels, hooks) => deps.gradients(info.id, ids, labels, hooks),
  });

  const keyOf = (info: LoadedModel, s: ProbeSettings) => probeFitKey(info.label, s.probeLayer, s.bindingLayer, Math.min(s.k, info.config.hidden));

  const fitOf = (modelId: string, key: string) => {
    const f = session(modelId).fits.get(key);
    if (!f) throw new Error(`no propositional-probes fit "${key}" for model ${modelId}: fit or load one first`);
    return f;
  };

  const summary = (key: string, f: PropProbeFit): ProbeFitSummary => ({
    key,
    model: f.model,
    probeLayer: f.probeLayer,
    bindingLayer: f.bindingLayer,
    seed: f.seed,
    form: { k: f.form.k, estimator: f.form.estimator, objective: f.form.objective, passes: f.form.passes, spectrum: f.form.spectrum },
    probes: f.probes.map((p) => ({ domain: p.domain, offset: p.offset, threshold: p.threshold, values: p.values })),
    seconds: f.seconds,
  });

  const cached = async (modelId: string, settings: ProbeSettings): Promise<ProbeFitSummary | null> => {
    const s = session(modelId);
    const key = keyOf(s.info, settings);
    const j = await store.get(key);
    if (!j) return null;
    const f = fitFromJson(j);
    s.fits.set(key, f);
    return summary(key, f);
  };

  const release = (cb: unknown) => cb && deps.releaseCallback?.(cb);
  const report = (cb: ProbesProgress | undefined, prefix = '') =>
    cb && ((stage: string, done: number, total: number) => void Promise.resolve(cb(prefix + stage, done, total)).catch(() => undefined));

  return {
    probesCached: cached,

    async probesFit(modelId, settings, opts = {}, onProgress) {
      try {
        const s = session(modelId);
        const hit = opts.force ? null : await cached(modelId, settings);
        if (hit) return { fit: hit, from: 'IndexedDB cache' };
        const signal = { aborted: false };
        s.running.add(signal);
        try {
          const o = { ...settings, seed: 0, onProgress: report(onProgress), signal };
          const f = await fitPropProbes(backend(s.info), s.enc, s.info.label, o);
          const key = keyOf(s.info, settings);
          await store.put(key, fitToJson(f));
          s.fits.set(key, f);
          return { fit: summary(key, f), from: 'fitted now' };
        } finally {
          s.running.delete(signal);
        }
      } finally {
        release(onProgress);
      }
    },

    async probesCancel(modelId) {
      state.get(modelId)?.running.forEach((signal) => (signal.aborted = true));
    },

    async probesMakeContext(modelId, set, seed) {
      return makeSet(set, 1, seed, session(modelId).enc)[0];
    },

    async probesRead(modelId, fitKey, context) {
      const { enc, info } = session(modelId);
      const f = fitOf(modelId, fitKey);
      const b = backend(info);
      let it: Pick<ProbeItem, 'ids' | 'tokens' | 'contextStart' | 'contextEnd'> & { questions?: Question[]; truth?: Prop[] };
      if ('ids' in context) it = context;
      else {
        const c = encodePieces(enc, pieces(canonical(context.text), enc.spacing, true), enc.prefix.length);
        it = { ids: [...enc.prefix, ...c.ids], tokens: [...enc.prefix.map(() => '<s>'), ...c.tokens], contextStart: enc.prefix.length, contextEnd: enc.prefix.length + c.ids.length };
      }
      if (it.ids.length < 2) throw new Error('type a context first');
      const { probeActs, bindActs } = await readItem(b, f, it.ids);
      const decoded = decodeActs(f, it, probeActs, bindActs);
      let questions = it.questions;
      if (!questions) {
        // The model's own answers about every name and domain the probes found.
        questions = [];
        const names = [...new Set(decoded.names.map((n) => n.value))];
        const domains = [...new Set(decoded.attrs.map((a) => a.domain))];
        for (const name of names) for (const domain of domains) {
          const ps = pieces(bindingQuestion(name, domain), enc.spacing, false);
          questions.push({ name, domain, answer: '', promptIds: [...it.ids, ...encodePieces(enc, ps, it.ids.length).ids] });
        }
      }
      const answers = (await promptingProps(b, enc, { questions } as ProbeItem)).answers;
      const labels = it.tokens.map(() => [] as string[]);
      for (const [dom, hits] of Object.entries(decoded.hits)) for (const h of hits) labels[h.pos].push(`${dom}: ${h.value}`);
      return { tokens: it.tokens.map((t, i) => ({ text: t, labels: labels[i] })), decoded, answers, truth: it.truth ?? null };
    },

    async probesEvaluate(modelId, fitKey, set, n, seed, onProgress) {
      try {
        const { enc, info } = session(modelId);
        const f = fitOf(modelId, fitKey);
        return await evaluateSet(backend(info), enc, f, makeSet(set, n, seed, enc), { onProgress: report(onProgress) });
      } finally {
        release(onProgress);
      }
    },

    forget(modelId) {
      state.get(modelId)?.running.forEach((signal) => (signal.aborted = true));
      state.delete(modelId);
    },
  };
}

function memoryStore(): ProbeFitStore {
  const m = new Map<string, unknown>();
  return { get: async (k) => m.get(k), put: async (k, j) => void m.set(k, j) };
}

function idbStore(): ProbeFitStore {
  let db: Promise<IDBPDatabase> | null = null;
  const open = () => (db ??= openDB('latentlab-prop-probes', 1, { upgrade: (d) => void d.createObjectStore('fits') }));
  return {
    get: async (k) => (await open()).get('fits', k),
    put: async (k, j) => void (await (await open()).put('fits', j, k)),
  };
}
