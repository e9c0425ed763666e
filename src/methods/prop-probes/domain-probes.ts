// Step 2 (domain probes): find the token that carries each domain's value by activation patching, then fit a
// class-conditioned centroid probe per domain at one layer (value centroid minus the domain's mean, dot product with
// the unit-normalised resid_pre, argmax, and a threshold tuned on training contexts so other tokens say "none").
// The centroids are fitted on the GPU (engine/fit's class means). Applying a probe stays in TypeScript: at most ~100
// values × d_model × a few hundred positions per context, far below what a GPU round trip costs on SwiftShader.
import type { Runtime } from '../../gpu/runtime';
import { classMeans } from '../../engine/fit';
import { Rng, mixSeed } from '../../common/rng';
import type { BindingContext } from '../../toyworld/families/binding';
import { normalizeRows, readResid, residPre, row } from './activations';
import { buildItem, encodePieces, pieces, questionFor, swapValue } from './data';
import type { PieceEncoder, ProbeBackend, ProbeDomain, ProbeItem, Progress } from './types';

export interface DomainProbe {
  domain: ProbeDomain;
  layer: number;
  /** Token offset from the value's last token to the token that carries it (found by patching). */
  offset: number;
  /** Values with a centroid (values never seen in training have none). */
  values: string[];
  /** Class-conditioned centroids, values.length × d, row-major. */
  centroids: Float32Array;
  threshold: number;
  /** Patching score per tried offset, for display. */
  localization: { offset: number; score: number }[];
}

export interface ProbeHit {
  pos: number;
  value: string;
  score: number;
}

/** Scores of every value at every position: values × T. */
export function probeScores(p: DomainProbe, normActs: Float32Array, d: number): Float32Array {
  const T = normActs.length / d;
  const V = p.values.length;
  const out = new Float32Array(V * T);
  for (let v = 0; v < V; v++) {
    const c = p.centroids.subarray(v * d, (v + 1) * d);
    for (let t = 0; t < T; t++) {
      let s = 0;
      const a = normActs.subarray(t * d, (t + 1) * d);
      for (let i = 0; i < d; i++) s += a[i] * c[i];
      out[v * T + t] = s;
    }
  }
  return out;
}

/** Positions in [from, to) where the probe's best score clears its threshold. */
export function applyProbe(p: DomainProbe, normActs: Float32Array, d: number, from: number, to: number): ProbeHit[] {
  const T = normActs.length / d;
  const s = probeScores(p, normActs, d);
  const hits: ProbeHit[] = [];
  for (let t = from; t < to; t++) {
    let best = -1;
    let bestScore = -Infinity;
    for (let v = 0; v < p.values.length; v++) if (s[v * T + t] > bestScore) [best, bestScore] = [v, s[v * T + t]];
    if (best >= 0 && bestScore >= p.threshold) hits.push({ pos: t, value: p.values[best], score: bestScore });
  }
  return hits;
}

/** Class-conditioned centroids from labelled rows (value per row): each value's mean row minus the mean of all rows. */
export async function fitCentroids(rt: Runtime, rows: Float32Array[], labels: string[], d: number): Promise<{ values: string[]; centroids: Float32Array }> {
  const values = [...new Set(labels)].sort();
  const index = new Map(values.map((v, k) => [v, k]));
  if (rows.some((r) => r.length !== d)) throw new Error(`centroid probe: rows must have ${d} entries`);
  const { means, mean } = await classMeans(rt, rows, labels.map((l) => index.get(l)!), values.length);
  const centroids = means.map((v, i) => v - mean[i % d]);
  return { values, centroids };
}

/**
 * The threshold that classifies the most positions right, where each position's truth is a value or none:
 * scanned over the midpoints between sorted best scores.
 */
export function tuneThreshold(best: { score: number; pred: string; truth: string | null }[]): number {
  if (!best.length) return 0;
  const sorted = [...best].sort((a, b) => a.score - b.score);
  // threshold below sorted[i] and above sorted[i-1]: positions i.. fire.
  let correctIfFire = 0;
  for (const b of sorted) if (b.truth !== null && b.pred === b.truth) correctIfFire++;
  let correctNone = 0;
  let bestCorrect = -1;
  let bestT = sorted[0].score - 1e-6;
  for (let i = 0; i <= sorted.length; i++) {
    const correct = correctIfFire + correctNone;
    if (correct > bestCorrect) {
      bestCorrect = correct;
      bestT = i === 0 ? sorted[0].score - 1e-6 : i === sorted.length ? sorted[i - 1].score + 1e-6 : (sorted[i - 1].score + sorted[i].score) / 2;
    }
    if (i === sorted.length) break;
    const b = sorted[i];
    if (b.truth !== null && b.pred === b.truth) correctIfFire--;
    if (b.truth === null) correctNone++;
  }
  return bestT;
}

// A token before the value cannot carry it (causal attention), so the candidates start at the value's own token.
const OFFSETS = [0, 1, 2];

/**
 * Which token carries a domain's value: patch resid_pre at `layer` from a context where one entity's value differs,
 * at each offset from the value's token, and see how far the answer moves toward the other value.
 */
export async function localize(
  b: ProbeBackend, enc: PieceEncoder, domain: ProbeDomain, layer: number, contexts: BindingContext[], seed: number,
): Promise<{ offset: number; scores: { offset: number; score: number }[] }> {
  const rng = new Rng(mixSeed(seed, `localize/${domain}`));
  const sum = new Map<number, { s: number; n: number }>(OFFSETS.map((o) => [o, { s: 0, n: 0 }]));
  const d = b.d;
  for (const ctx of contexts) {
    if (domain !== 'name' && !ctx.domains.includes(domain)) continue;
    const entity = rng.int(0, ctx.entities.length - 1);
    const src = swapValue(ctx, entity, domain, rng, enc);
    if (!src) continue;
    const tgtItem = buildItem(ctx, enc, null);
    const srcItem = buildItem(src, enc, null);
    if (srcItem.ids.length !== tgtItem.ids.length) continue;
    const q = questionFor(ctx, entity, domain);
    const qs = questionFor(src, entity, domain);
    // Names are asked about by attribute, which the swap leaves alone; attributes by name, likewise.
    const qIds = encodePieces(enc, pieces(q.text, enc.spacing, false), tgtItem.ids.length).ids;
    const tgtAns = enc.encode(` ${q.answer}`)[0];
    const srcAns = enc.encode(` ${qs.answer}`)[0];
    if (tgtAns === srcAns) continue;
    const srcActs = (await readResid(b, [...srcItem.ids, ...qIds], [layer])).acts.get(layer)!;
    const ids = [...tgtItem.ids, ...qIds];
    const base = (await b.forward(ids, [])).last;
    const baseDiff = base[srcAns] - base[tgtAns];
    const valuePos = tgtItem.mentions.find((m) => m.entity === entity && m.domain === domain)!.pos;
    for (const o of OFFSETS) {
      const pos = valuePos + o;
      if (pos < tgtItem.contextStart || pos >= tgtItem.contextEnd) continue;
      const r = await b.forward(ids, [{ name: residPre(layer), op: 'replace', value: row(srcActs, pos, d), positions: [pos] }]);
      const e = sum.get(o)!;
      e.s += r.last[srcAns] - r.last[tgtAns] - baseDiff;
      e.n++;
    }
  }
  const scores = OFFSETS.map((o) => ({ offset: o, score: sum.get(o)!.n ? sum.get(o)!.s / sum.get(o)!.n : -Infinity }));
  const valid = scores.filter((s) => Number.isFinite(s.score));
  const offset = valid.length ? valid.reduce((a, c) => (c.score > a.score ? c : a)).offset : 0;
  return { offset, scores };
}

export interface ProbeFitOptions {
  layer: number;
  /** Patching samples per domain for localisation (0: use the value's own token). */
  localizeSamples: number;
  seed: number;
  onProgress?: Progress;
}

/** Localise and fit the probes of every domain on training contexts. */
export async function fitDomainProbes(
  b: ProbeBackend, enc: PieceEncoder, contexts: BindingContext[], domains: ProbeDomain[], o: ProbeFitOptions,
): Promise<DomainProbe[]> {
  const d = b.d;
  const offsets = new Map<ProbeDomain, { offset: number; scores: { offset: number; score: number }[] }>();
  for (const [i, dom] of domains.entries()) {
    o.onProgress?.('localising values', i, domains.length);
    offsets.set(dom, o.localizeSamples > 0 ? await localize(b, enc, dom, o.layer, contexts.slice(0, o.localizeSamples), o.seed) : { offset: 0, scores: [] });
  }
  const items: { item: ProbeItem; acts: Float32Array }[] = [];
  for (const [i, ctx] of contexts.entries()) {
    o.onProgress?.('reading training contexts', i, contexts.length);
    const item = buildItem(ctx, enc, null);
    const r = await readResid(b, item.ids, [o.layer]);
    items.push({ item, acts: normalizeRows(r.acts.get(o.layer)!, d) });
  }
  o.onProgress?.('reading training contexts', contexts.length, contexts.length);
  const probes: DomainProbe[] = [];
  for (const dom of domains) {
    const { offset, scores } = offsets.get(dom)!;
    const rows: Float32Array[] = [];
    const labels: string[] = [];
    for (const { item, acts } of items) {
      for (const m of item.mentions) {
        const pos = m.pos + offset;
        if (m.domain !== dom || pos < item.contextStart || pos >= item.contextEnd) continue;
        rows.push(row(acts, pos, d));
        labels.push(m.value);
      }
    }
    if (!rows.length) throw new Error(`no training rows for the ${dom} probe`);
    const { values, centroids } = await fitCentroids(b.rt, rows, labels, d);
    const probe: DomainProbe = { domain: dom, layer: o.layer, offset, values, centroids, threshold: -Infinity, localization: scores };
    const best: { score: number; pred: string; truth: string | null }[] = [];
    for (const { item, acts } of items) {
      const truthAt = new Map(item.mentions.filter((m) => m.domain === dom).map((m) => [m.pos + offset, m.value]));
      for (const h of applyProbe(probe, acts, d, item.contextStart, item.contextEnd)) {
        best.push({ score: h.score, pred: h.value, truth: truthAt.get(h.pos) ?? null });
      }
    }
    probe.threshold = tuneThreshold(best);
    probes.push(probe);
  }
  return probes;
}

/** Per-domain accuracy on items: a position is right when the probe names its value, or says none where there is none. */
export function probeAccuracy(p: DomainProbe, item: ProbeItem, normActs: Float32Array, d: number): { correct: number; total: number; valueCorrect: number; valueTotal: number } {
  const truthAt = new Map(item.mentions.filter((m) => m.domain === p.domain).map((m) => [m.pos + p.offset, m.value]));
  const hits = new Map(applyProbe(p, normActs, d, item.contextStart, item.contextEnd).map((h) => [h.pos, h.value]));
  let correct = 0;
  let valueCorrect = 0;
  for (let t = item.contextStart; t < item.contextEnd; t++) {
    const truth = truthAt.get(t) ?? null;
    const pred = hits.get(t) ?? null;
    if (truth === pred) correct++;
    if (truth !== null && truth === pred) valueCorrect++;
  }
  return { correct, total: item.contextEnd - item.contextStart, valueCorrect, valueTotal: truthAt.size };
}

