// The whole method: fit (domain probes, Hessian binding subspace, the random control), decode a context into
// propositions, and evaluate a set (EM / Jaccard for probes, prompting and the random subspace).
import { DOMAINS, type Domain } from '../../toyworld/families/binding';
import { mixSeed } from '../../common/rng';
import { normalizeRows, readResid } from './activations';
import { bindingSubspace, hessianPrompts, toForm, type BindingForm } from './binding-subspace';
import { affinities, compose, type Binding } from './composition';
import { PROBE_DOMAINS, trainContexts } from './data';
import { applyProbe, fitDomainProbes, probeAccuracy, type DomainProbe, type ProbeHit } from './domain-probes';
import { defaultLayers } from './defaults';
import { randomBasis } from './linalg';
import { exactMatch, jaccard, mean } from './metrics';
import { promptingProps } from './prompting';
import type { PieceEncoder, ProbeBackend, ProbeItem, Progress, Prop } from './types';

export { defaultLayers };

export interface FitOptions {
  /** Layer of the domain probes (default ⌊(n_layers − 1) / 2⌋: 19 of 40 like the paper's 20, 1 of a 4-layer toy model). */
  probeLayer?: number;
  /** Layer of the binding affinities (default ⌊3(n_layers − 1) / 8⌋: 14 of 40 like the paper's 15, 1 of 4). */
  bindingLayer?: number;
  /** Rank of the binding form (default 50, capped by d_model). */
  k?: number;
  trainContexts?: number;
  localizeSamples?: number;
  hessianPrompts?: number;
  estimator?: 'full' | 'randomized' | 'auto';
  objective?: 'prob' | 'logprob';
  eps?: number;
  seed?: number;
  onProgress?: Progress;
  signal?: { aborted: boolean };
}

export interface PropProbeFit {
  version: 1;
  model: string;
  d: number;
  nLayers: number;
  probeLayer: number;
  bindingLayer: number;
  seed: number;
  probes: DomainProbe[];
  form: BindingForm;
  random: BindingForm;
  /** Seconds each stage took. */
  seconds: { probes: number; subspace: number };
}


export async function fitPropProbes(b: ProbeBackend, enc: PieceEncoder, model: string, o: FitOptions = {}): Promise<PropProbeFit> {
  const seed = o.seed ?? 0;
  const layers = defaultLayers(b.nLayers);
  const probeLayer = o.probeLayer ?? layers.probeLayer;
  const bindingLayer = o.bindingLayer ?? layers.bindingLayer;
  for (const l of [probeLayer, bindingLayer]) if (!Number.isInteger(l) || l < 0 || l >= b.nLayers) throw new Error(`layer ${l} is outside 0..${b.nLayers - 1}`);
  const t0 = Date.now();
  const contexts = trainContexts(o.trainContexts ?? 80, seed);
  const probes = await fitDomainProbes(b, enc, contexts, PROBE_DOMAINS, {
    layer: probeLayer, localizeSamples: o.localizeSamples ?? 6, seed, onProgress: o.onProgress,
  });
  const t1 = Date.now();
  const offsetOf = (dom: string) => probes.find((p) => p.domain === dom)?.offset ?? 0;
  const prompts = hessianPrompts(enc, o.hessianPrompts ?? 4, seed, offsetOf);
  const form = await bindingSubspace(b, prompts, {
    k: o.k ?? 50, estimator: o.estimator, objective: o.objective, eps: o.eps, seed, onProgress: o.onProgress, signal: o.signal,
  });
  const t2 = Date.now();
  const random = toForm('random', b.d, form.k, randomBasis(b.d, form.k, mixSeed(seed, 'random-subspace')), Array(form.k).fill(1));
  return {
    version: 1, model, d: b.d, nLayers: b.nLayers, probeLayer, bindingLayer, seed, probes, form, random,
    seconds: { probes: (t1 - t0) / 1000, subspace: (t2 - t1) / 1000 },
  };
}

export interface Decoded {
  hits: Record<string, ProbeHit[]>;
  bindings: Binding[];
  props: Prop[];
  /** Affinities of each attribute hit (rows) with each name hit (columns). */
  affinity: number[][];
  names: ProbeHit[];
  attrs: (ProbeHit & { domain: Domain })[];
}

/** Probe and bind one item's context from its activations (normalised rows at both layers). */
export function decodeActs(fit: PropProbeFit, item: Pick<ProbeItem, 'contextStart' | 'contextEnd'>, probeActs: Float32Array, bindActs: Float32Array, form: BindingForm = fit.form): Decoded {
  const hits: Record<string, ProbeHit[]> = {};
  for (const p of fit.probes) hits[p.domain] = applyProbe(p, probeActs, fit.d, item.contextStart, item.contextEnd);
  const names = hits.name ?? [];
  const attrs = DOMAINS.flatMap((dom) => (hits[dom] ?? []).map((h) => ({ ...h, domain: dom })));
  const affinity = affinities(form, bindActs, attrs.map((a) => a.pos), names.map((n) => n.pos));
  const { props, bindings } = compose(attrs, names, affinity);
  return { hits, bindings, props, affinity, names, attrs };
}

export async function readItem(b: ProbeBackend, fit: PropProbeFit, ids: number[]): Promise<{ probeActs: Float32Array; bindActs: Float32Array; last: Float32Array }> {
  const r = await readResid(b, ids, [fit.probeLayer, fit.bindingLayer]);
  return {
    probeActs: normalizeRows(r.acts.get(fit.probeLayer)!, fit.d),
    bindActs: normalizeRows(r.acts.get(fit.bindingLayer)!, fit.d),
    last: r.last,
  };
}

export interface ItemResult {
  truth: Prop[];
  probes: Prop[];
  random: Prop[];
  prompting: Prop[] | null;
}

export interface SetReport {
  n: number;
  em: number;
  jaccard: number;
  prompting_em: number | null;
  prompting_jaccard: number | null;
  random_subspace_em: number;
  random_subspace_jaccard: number;
  /** Per domain: fraction of context positions labelled right (value or none), and of value positions found. */
  domain_accuracy: Record<string, { positions: number; values: number }>;
  items: ItemResult[];
}

export async function evaluateSet(b: ProbeBackend, enc: PieceEncoder, fit: PropProbeFit, items: ProbeItem[], o: { prompting?: boolean; onProgress?: Progress } = {}): Promise<SetReport> {
  const results: ItemResult[] = [];
  const acc = new Map<string, { c: number; t: number; vc: number; vt: number }>();
  for (const [i, item] of items.entries()) {
    o.onProgress?.('evaluating', i, items.length);
    const { probeActs, bindActs } = await readItem(b, fit, item.ids);
    const probes = decodeActs(fit, item, probeActs, bindActs, fit.form).props;
    const random = decodeActs(fit, item, probeActs, bindActs, fit.random).props;
    const prompting = o.prompting === false ? null : (await promptingProps(b, enc, item)).props;
    results.push({ truth: item.truth, probes, random, prompting });
    for (const p of fit.probes) {
      const a = probeAccuracy(p, item, probeActs, fit.d);
      const e = acc.get(p.domain) ?? { c: 0, t: 0, vc: 0, vt: 0 };
      acc.set(p.domain, { c: e.c + a.correct, t: e.t + a.total, vc: e.vc + a.valueCorrect, vt: e.vt + a.valueTotal });
    }
  }
  o.onProgress?.('evaluating', items.length, items.length);
  const m = (f: (r: ItemResult) => number) => mean(results.map(f));
  return {
    n: items.length,
    em: m((r) => exactMatch(r.probes, r.truth)),
    jaccard: m((r) => jaccard(r.probes, r.truth)),
    prompting_em: o.prompting === false ? null : m((r) => exactMatch(r.prompting!, r.truth)),
    prompting_jaccard: o.prompting === false ? null : m((r) => jaccard(r.prompting!, r.truth)),
    random_subspace_em: m((r) => exactMatch(r.random, r.truth)),
    random_subspace_jaccard: m((r) => jaccard(r.random, r.truth)),
    domain_accuracy: Object.fromEntries([...acc].map(([k, e]) => [k, { positions: e.t ? e.c / e.t : 0, values: e.vt ? e.vc / e.vt : 0 }])),
    items: results,
  };
}

/** JSON-safe copy of a fit (typed arrays as plain arrays), and back. */
export function fitToJson(f: PropProbeFit): unknown {
  const form = (x: BindingForm) => ({ ...x, U: Array.from(x.U), S: Array.from(x.S) });
  return { ...f, probes: f.probes.map((p) => ({ ...p, centroids: Array.from(p.centroids), threshold: p.threshold })), form: form(f.form), random: form(f.random) };
}

export function fitFromJson(j: unknown): PropProbeFit {
  const f = j as PropProbeFit & { form: { U: number[]; S: number[] }; random: { U: number[]; S: number[] } };
  if (f?.version !== 1) throw new Error('not a propositional-probes fit (version 1)');
  const form = (x: { U: number[]; S: number[] }) => ({ ...x, U: Float32Array.from(x.U), S: Float32Array.from(x.S) }) as BindingForm;
  return {
    ...f,
    probes: f.probes.map((p) => ({ ...p, centroids: Float32Array.from(p.centroids as unknown as number[]) })),
    form: form(f.form),
    random: form(f.random),
  };
}
