// Propositional probes as a method of the kit (src/methods/kit): fit the domain probes and the Hessian binding
// subspace (or take the stored fit), decode a context, evaluate a set. The worker (EngineApi.method) and the CLI
// (`latentlab probes`) both run these calls; fits are stored through the context (IndexedDB per model label, layers
// and rank in the worker; a --fit file or memory in Node) and kept for the model in the session, so a page holds only
// a summary and the fit's key.
import { checkCancel, needModel, needTokenizer, type MethodContext, type ModelAccess } from '../kit/context';
import { defineMethod } from '../kit/method';
import { bindingQuestion } from '../../toyworld/families/binding';
import { encodePieces, makeSet, pieces } from './data';
import { defaultLayers } from './defaults';
import { encoderFor } from './encoder';
import { decodeActs, evaluateSet, fitFromJson, fitPropProbes, fitToJson, readItem, type Decoded, type FitOptions, type PropProbeFit, type SetReport } from './pipeline';
import { promptingProps } from './prompting';
import { probeBackend as backend } from './backend';
import type { PieceEncoder, ProbeItem, ProbeSet, Prop, Question } from './types';

export type { Decoded, ProbeItem, ProbeSet, Prop, SetReport };
export type { Binding } from './composition';
export type { ProbeHit } from './domain-probes';

/** How contexts are written: the toy world's word text, English, or chosen from the tokenizer ('auto'). */
export type Template = 'auto' | 'toy' | 'english';

/** A fit's settings: the page sets the first six, the CLI any of them; the rest keep the method's defaults. */
export type ProbeSettings = Omit<FitOptions, 'onProgress' | 'signal'>;

/** What a page shows and exports of a fit (the fit itself stays with the host, under `key`). */
export interface ProbeFitSummary {
  /** The fit's key: model label, layers and rank. Pass it to read / evaluate. */
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
  from: 'stored' | 'fitted now';
}

/** A context to decode: an item made by makeContext (its questions and truth are used), or typed text. */
export type ProbeContext = ProbeItem | { text: string };

export interface ProbeReading {
  /** Each token's display text and the domain-probe labels at it ("occupation: nurse"). */
  tokens: { text: string; labels: string[] }[];
  decoded: Decoded;
  /** The model's own answers: the item's questions, or for typed text every found name × found domain. */
  answers: { name: string; domain: string; said: string | null }[];
  truth: Prop[] | null;
}

export const probeFitKey = (model: string, probeLayer: number, bindingLayer: number, k: number) => `${model}|probe${probeLayer}|bind${bindingLayer}|k${k}`;

/** Words and punctuation of typed text, as the generator's canonical form (single spaces). */
export function canonical(text: string): string {
  return (text.match(/<[^>\s]+>|[\p{L}\p{N}'’-]+|[^\s\p{L}\p{N}]/gu) ?? []).join(' ');
}

const NAME = 'propositional probes';

/** The fits this model holds (by key). */
const fits = (ctx: MethodContext) => ctx.session(() => new Map<string, PropProbeFit>());

function encoder(m: ModelAccess, template: Template = 'auto'): PieceEncoder {
  const tok = needTokenizer(m, NAME);
  if (!['auto', 'toy', 'english'].includes(template)) throw new Error(`template must be auto|toy|english, got ${template}`);
  return encoderFor({ encode: (t, o) => tok.encode(t, o), bosId: tok.bosId ?? m.config.bosTokenId ?? null }, template);
}

/** The call's progress, stopping it once cancelled (every stage reports progress, so every stage can stop). */
const progress = (ctx: MethodContext, what: string) => (stage: string, done: number, total: number) => {
  checkCancel(ctx, what);
  ctx.progress(stage, done, total);
};

function keyOf(m: ModelAccess, s: ProbeSettings): string {
  const layers = defaultLayers(m.config.nLayers);
  return probeFitKey(m.label, s.probeLayer ?? layers.probeLayer, s.bindingLayer ?? layers.bindingLayer, Math.min(s.k ?? 50, m.config.hidden));
}

function summary(key: string, f: PropProbeFit): ProbeFitSummary {
  return {
    key, model: f.model, probeLayer: f.probeLayer, bindingLayer: f.bindingLayer, seed: f.seed,
    form: { k: f.form.k, estimator: f.form.estimator, objective: f.form.objective, passes: f.form.passes, spectrum: f.form.spectrum },
    probes: f.probes.map((p) => ({ domain: p.domain, offset: p.offset, threshold: p.threshold, values: p.values })),
    seconds: f.seconds,
  };
}

function fitOf(ctx: MethodContext, key: string): PropProbeFit {
  const f = fits(ctx).get(key);
  if (!f) throw new Error(`no propositional-probes fit "${key}" for ${needModel(ctx, NAME).label}: fit or load one first`);
  return f;
}

/** The stored fit for these settings, checked against the model and kept for it, or null. */
async function stored(ctx: MethodContext, settings: ProbeSettings): Promise<ProbeFitSummary | null> {
  const m = needModel(ctx, NAME);
  const key = keyOf(m, settings);
  const j = await ctx.store.get(key);
  if (!j) return null;
  const f = fitFromJson(j);
  if (f.d !== m.config.hidden || f.nLayers !== m.config.nLayers) throw new Error(`the stored fit "${key}" was fitted on another model (d ${f.d}, ${f.nLayers} layers)`);
  fits(ctx).set(key, f);
  return summary(key, f);
}

export default defineMethod({
  calls: {
    /** The stored fit for these settings, or null. */
    cached: (ctx, req: { settings: ProbeSettings }): Promise<ProbeFitSummary | null> => stored(ctx, req.settings),

    /** The stored fit (unless `force`), else a new fit, stored. Progress per stage; the signal stops it ("… cancelled"). */
    async fit(ctx, req: { settings: ProbeSettings; force?: boolean; template?: Template }): Promise<ProbesFitResult> {
      const m = needModel(ctx, NAME);
      const hit = req.force ? null : await stored(ctx, req.settings);
      if (hit) return { fit: hit, from: 'stored' };
      const f = await fitPropProbes(backend(m, await ctx.runtime()), encoder(m, req.template), m.label, { seed: 0, ...req.settings, onProgress: progress(ctx, 'propositional-probes fit'), signal: ctx.signal });
      const key = keyOf(m, req.settings);
      await ctx.store.put(key, fitToJson(f));
      fits(ctx).set(key, f);
      return { fit: summary(key, f), from: 'fitted now' };
    },

    /** One seeded item of an evaluation set. */
    async makeContext(ctx, req: { set: ProbeSet; seed: number; template?: Template }): Promise<ProbeItem> {
      return makeSet(req.set, 1, req.seed, encoder(needModel(ctx, NAME), req.template))[0];
    },

    /** Decode a context with a fit the model holds. */
    async read(ctx, req: { fitKey: string; context: ProbeContext; template?: Template }): Promise<ProbeReading> {
      const m = needModel(ctx, NAME);
      const enc = encoder(m, req.template);
      const f = fitOf(ctx, req.fitKey);
      const b = backend(m, await ctx.runtime());
      const context = req.context;
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

    /** EM / Jaccard of probes, prompting and the random subspace on `n` seeded items of a set; the signal stops it. */
    async evaluate(ctx, req: { fitKey: string; set: ProbeSet; n: number; seed: number; minEntities?: number; maxEntities?: number; template?: Template }): Promise<SetReport> {
      const m = needModel(ctx, NAME);
      const enc = encoder(m, req.template);
      const items = makeSet(req.set, req.n, req.seed, enc, { minEntities: req.minEntities, maxEntities: req.maxEntities });
      return evaluateSet(backend(m, await ctx.runtime()), enc, fitOf(ctx, req.fitKey), items, { onProgress: progress(ctx, 'propositional-probes evaluation') });
    },
  },
});
