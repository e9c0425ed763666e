// Step 1 (data): binding contexts from the toy-world generator, rendered either as the toy world's canonical text
// (one word = one token) or as English for Hub tokenizers, encoded piece by piece so each name and value has a
// known token position (the last token of its word).
import { Rng, mixSeed } from '../../common/rng';
import { FIRST_NAMES, OCCUPATIONS, CITIES, FOODS, ANIMALS } from '../../toyworld/lexicon';
import {
  bindingContext, bindingQuestion, reverseQuestion, injection, DOMAINS, TRAIN_STYLES, type Domain, type BindingContext,
} from '../../toyworld/families/binding';
import type { Mention, PieceEncoder, ProbeDomain, ProbeItem, ProbeSet, Prop, Question } from './types';

export const VALUES: Record<ProbeDomain, readonly string[]> = {
  name: FIRST_NAMES, occupation: OCCUPATIONS, city: CITIES, food: FOODS, animal: ANIMALS,
};
export const PROBE_DOMAINS: ProbeDomain[] = ['name', ...DOMAINS];

const PUNCT = new Set(['.', '?', ',', ':', '!']);

/** Pieces of canonical text: words, with the spacing the encoder wants. */
export function pieces(text: string, spacing: PieceEncoder['spacing'], first: boolean): string[] {
  return text.split(' ').filter(Boolean).map((w, i) => {
    if (spacing === 'words') return ` ${w}`;
    if (PUNCT.has(w)) return w;
    return first && i === 0 ? w : ` ${w}`;
  });
}

/** Encode pieces; returns ids, each piece's last-token position, and token display strings. */
export function encodePieces(enc: PieceEncoder, ps: string[], start: number): { ids: number[]; last: number[]; tokens: string[] } {
  const ids: number[] = [];
  const last: number[] = [];
  const tokens: string[] = [];
  for (const p of ps) {
    const t = enc.encode(p);
    if (!t.length) throw new Error(`the tokenizer gives no tokens for ${JSON.stringify(p)}`);
    ids.push(...t);
    t.forEach((_, i) => tokens.push(i === 0 ? p : ''));
    last.push(start + ids.length - 1);
  }
  return { ids, last, tokens };
}

export interface ItemOptions {
  minEntities?: number;
  maxEntities?: number;
  minDomains?: number;
  maxDomains?: number;
}

/** One item from a binding context: ids, mentions, truth, one question per (entity, domain), optional injection. */
export function buildItem(ctx: BindingContext, enc: PieceEncoder, inject: { name: string; domain: Domain; value: string } | null): ProbeItem {
  const pre = enc.prefix;
  const ctxWords = ctx.text.split(' ');
  const c = encodePieces(enc, pieces(ctx.text, enc.spacing, true), pre.length);
  const ids = [...pre, ...c.ids];
  const tokens = [...pre.map(() => '<s>'), ...c.tokens];
  const contextStart = pre.length;
  const contextEnd = ids.length;
  const mentions: Mention[] = [];
  ctxWords.forEach((w, i) => {
    ctx.entities.forEach((e, k) => {
      if (e.name === w) mentions.push({ pos: c.last[i], value: w, domain: 'name', entity: k });
      for (const d of ctx.domains) if (e.attrs[d] === w) mentions.push({ pos: c.last[i], value: w, domain: d, entity: k });
    });
  });
  let injected: Prop | undefined;
  if (inject) {
    const inj = encodePieces(enc, pieces(injection(inject.name, inject.domain, inject.value), enc.spacing, false), ids.length);
    ids.push(...inj.ids);
    tokens.push(...inj.tokens);
    injected = { name: inject.name, value: inject.value, domain: inject.domain };
  }
  const truth: Prop[] = ctx.entities.flatMap((e) => ctx.domains.map((d) => ({ name: e.name, value: e.attrs[d]!, domain: d })));
  const questions: Question[] = truth.map((p) => {
    const q = encodePieces(enc, pieces(bindingQuestion(p.name, p.domain), enc.spacing, false), ids.length);
    return { name: p.name, domain: p.domain, answer: p.value, promptIds: [...ids, ...q.ids] };
  });
  return { ids, tokens, contextStart, contextEnd, mentions, truth, domains: ctx.domains, questions, injected };
}

/** `n` items of one evaluation set, seeded. */
export function makeSet(set: ProbeSet, n: number, seed: number, enc: PieceEncoder, opts: ItemOptions = {}): ProbeItem[] {
  // The injected set is the SYNTH set (same seed, same contexts) with an injection appended to each context.
  const rng = new Rng(mixSeed(seed, `prop-probes/${set === 'injected' ? 'synth' : set}`));
  const injRng = new Rng(mixSeed(seed, 'prop-probes/injection'));
  const out: ProbeItem[] = [];
  for (let i = 0; i < n; i++) {
    const k = rng.int(opts.minEntities ?? 2, opts.maxEntities ?? 3);
    const nd = rng.int(opts.minDomains ?? 1, opts.maxDomains ?? 3);
    const ctx = bindingContext(rng, k, nd, set === 'paraphrase' ? 'held-out' : rng.pick(TRAIN_STYLES));
    let inject: { name: string; domain: Domain; value: string } | null = null;
    if (set === 'injected') {
      const e = injRng.pick(ctx.entities);
      const d = injRng.pick(ctx.domains);
      const value = injRng.pick(VALUES[d].filter((v) => !ctx.entities.some((x) => x.attrs[d] === v)));
      inject = { name: e.name, domain: d, value };
    }
    out.push(buildItem(ctx, enc, inject));
  }
  return out;
}

/** A context with one entity's value in `domain` swapped for another (same token count), for activation patching. */
export function swapValue(ctx: BindingContext, entity: number, domain: ProbeDomain, rng: Rng, enc: PieceEncoder): BindingContext | null {
  const old = domain === 'name' ? ctx.entities[entity].name : ctx.entities[entity].attrs[domain];
  if (!old) return null;
  const taken = new Set(ctx.entities.map((e) => (domain === 'name' ? e.name : e.attrs[domain])));
  const width = enc.encode(` ${old}`).length;
  const options = VALUES[domain].filter((v) => !taken.has(v) && enc.encode(` ${v}`).length === width);
  if (!options.length) return null;
  const v = rng.pick(options);
  const text = ctx.text.split(' ').map((w) => (w === old ? v : w)).join(' ');
  const entities = ctx.entities.map((e, k) => {
    if (k !== entity) return e;
    return domain === 'name' ? { ...e, name: v } : { ...e, attrs: { ...e.attrs, [domain]: v } };
  });
  return { ...ctx, entities, text };
}

/** The question whose answer is this mention's value: the attribute of a name, or (for names) the name of an attribute. */
export function questionFor(ctx: BindingContext, entity: number, domain: ProbeDomain): { text: string; answer: string } {
  const e = ctx.entities[entity];
  if (domain === 'name') {
    const d = ctx.domains[0];
    return { text: reverseQuestion(d, e.attrs[d]!), answer: e.name };
  }
  return { text: bindingQuestion(e.name, domain), answer: e.attrs[domain]! };
}

/** Training contexts for the probes and the subspace (seeded apart from the evaluation sets). */
export function trainContexts(n: number, seed: number, opts: ItemOptions & { style?: 'train' | 'held-out' } = {}): BindingContext[] {
  const rng = new Rng(mixSeed(seed, 'prop-probes/train'));
  const out: BindingContext[] = [];
  for (let i = 0; i < n; i++) {
    const k = rng.int(opts.minEntities ?? 2, opts.maxEntities ?? 3);
    const nd = rng.int(opts.minDomains ?? 1, opts.maxDomains ?? 3);
    out.push(bindingContext(rng, k, nd, opts.style === 'held-out' ? 'held-out' : rng.pick(TRAIN_STYLES)));
  }
  return out;
}

/** Encoders: the toy world's word-level tokenizer, or a Hub tokenizer with English spacing. */
export function pieceEncoder(encode: (text: string) => number[], bos: number | null, spacing: PieceEncoder['spacing']): PieceEncoder {
  return { prefix: bos === null ? [] : [bos], encode, spacing };
}

/** The first token of each value of a domain (how an answer token is read back as a value). */
const firstCache = new WeakMap<PieceEncoder, Map<ProbeDomain, Map<number, string>>>();
export function firstTokens(enc: PieceEncoder, domain: ProbeDomain): Map<number, string> {
  let byDomain = firstCache.get(enc);
  if (!byDomain) firstCache.set(enc, (byDomain = new Map()));
  const hit = byDomain.get(domain);
  if (hit) return hit;
  const m = new Map<number, string>();
  byDomain.set(domain, m);
  for (const v of VALUES[domain]) {
    const t = enc.encode(` ${v}`)[0];
    if (!m.has(t)) m.set(t, v);
  }
  return m;
}
