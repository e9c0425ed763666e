// Propositional probes (src/methods/prop-probes): each piece against ground truth it can be checked on, the Hessian
// estimator on a backend with a known mixed second derivative, the pipeline, the CLI and the worker's calls end to end
// on a tiny random Qwen2 model. The shipped toy model's table is in prop-probes-toy.slow.test.ts.
import { afterAll, describe, expect, test } from 'vitest';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeGpu } from '../src/gpu/node';
import { Model } from '../src/engine/model';
import { Tokenizer } from '../src/engine/tokenizer';
import { folderFiles } from '../src/engine/files-node';
import { buildVocab, WordTokenizer } from '../src/toyworld/index';
import { gaussian } from './fixtures/tiny-models';
import { writeToyVocabModel } from './fixtures/toy-vocab-model';
import { dot, gaussianColumns, norm, orthonormalize, randomBasis, type Columns } from '../src/methods/prop-probes/linalg';
import { jacobiSvdColumns } from './reference/fit';
import { runtimeFor } from '../src/engine/model';
import { applyProbe, fitCentroids, tuneThreshold, type DomainProbe } from '../src/methods/prop-probes/domain-probes';
import { affinities, compose, softmax } from '../src/methods/prop-probes/composition';
import { exactMatch, jaccard } from '../src/methods/prop-probes/metrics';
import { makeSet, pieceEncoder } from '../src/methods/prop-probes/data';
import { bindingSubspace, toForm, type HessianPrompt } from '../src/methods/prop-probes/binding-subspace';
import { decodeActs, type PropProbeFit } from '../src/methods/prop-probes/pipeline';
import { normalizeRows } from '../src/methods/prop-probes/activations';
import { probesCommand } from '../src/cli/probes';
import type { ProbeBackend, Prop } from '../src/methods/prop-probes/types';
import type { HookSpec } from '../src/engine/hooks';

const unit = (d: number, i: number) => Float64Array.from({ length: d }, (_, j) => (j === i ? 1 : 0));

/** A = U diag(S) Vᵀ from given orthonormal columns, as columns of A. */
function compose3(U: Columns, S: number[], V: Columns): Columns {
  const m = U[0].length;
  return Array.from(V[0], (_, j) => Float64Array.from({ length: m }, (_, i) => S.reduce((s, sk, k) => s + U[k][i] * sk * V[k][j], 0)));
}

describe('linear algebra', () => {
  // The float64 SVD the GPU's is tested against (tests/fit-pca.test.ts), checked itself on a known matrix.
  test('reference SVD recovers singular values and vectors of a known matrix (tall and wide)', () => {
    const U = randomBasis(9, 4, 1);
    const V = randomBasis(6, 4, 2);
    const S = [7, 3, 1.5, 0.25];
    const A = compose3(U, S, V); // 9 × 6, rank 4, given as 6 columns
    for (const cols of [A, Array.from({ length: 9 }, (_, i) => Float64Array.from(A, (c) => c[i]))]) {
      const r = jacobiSvdColumns(cols);
      expect(r.S.length).toBe(4);
      r.S.forEach((s, k) => expect(s).toBeCloseTo(S[k], 9));
      const wide = cols === A ? false : true;
      r.U.forEach((u, k) => expect(Math.abs(dot(u, wide ? V[k] : U[k]))).toBeCloseTo(1, 9));
      // Reconstruction.
      const back = compose3(r.U, r.S, r.V);
      back.forEach((c, j) => c.forEach((x, i) => expect(x).toBeCloseTo(cols[j][i], 9)));
    }
  });

  test('orthonormalize drops dependent columns and returns an orthonormal basis', () => {
    const g = gaussianColumns(5, 3, 3);
    const dep = Float64Array.from(g[0], (x, i) => 2 * x - g[1][i]);
    const q = orthonormalize([...g, dep]);
    expect(q.length).toBe(3);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) expect(dot(q[i], q[j])).toBeCloseTo(i === j ? 1 : 0, 12);
  });
});

describe('domain probes', () => {
  test('class-conditioned centroids and a tuned threshold label separable activations exactly', async () => {
    const d = 8;
    const g = gaussian(5);
    const values = ['nurse', 'chef', 'pilot'];
    const make = (dir: number) => {
      const v = Float32Array.from({ length: d }, () => 0.05 * g());
      v[dir] += 1;
      v[7] += 0.5; // shared class component
      return v;
    };
    const rows: Float32Array[] = [];
    const labels: string[] = [];
    for (let r = 0; r < 20; r++) values.forEach((v, k) => (rows.push(make(k)), labels.push(v)));
    const { values: vs, centroids } = await fitCentroids(runtimeFor(await nodeGpu()), rows, labels, d);
    expect(vs).toEqual([...values].sort());
    // A context: positions 0..5, values at 1 (chef) and 4 (pilot); others point elsewhere.
    const acts = new Float32Array(6 * d);
    const truth: (string | null)[] = [null, 'chef', null, null, 'pilot', null];
    truth.forEach((t, p) => acts.set(t ? make(values.indexOf(t)) : Float32Array.from({ length: d }, (_, i) => (i === 5 ? 1 : 0.05 * g())), p * d));
    const probe: DomainProbe = { domain: 'occupation', layer: 0, offset: 0, values: vs, centroids, threshold: -Infinity, localization: [] };
    const all = applyProbe(probe, acts, d, 0, 6);
    probe.threshold = tuneThreshold(all.map((h) => ({ score: h.score, pred: h.value, truth: truth[h.pos] })));
    const hits = applyProbe(probe, acts, d, 0, 6);
    expect(hits.map((h) => [h.pos, h.value])).toEqual([[1, 'chef'], [4, 'pilot']]);
  });

  test('threshold sweep picks the split with the most right answers', () => {
    const t = tuneThreshold([
      { score: 0.1, pred: 'a', truth: null },
      { score: 0.2, pred: 'a', truth: null },
      { score: 0.9, pred: 'a', truth: 'a' },
      { score: 0.8, pred: 'b', truth: 'b' },
      { score: 0.5, pred: 'b', truth: 'a' }, // wrong either way
    ]);
    expect(t).toBeGreaterThan(0.2);
    expect(t).toBeLessThanOrEqual(0.8);
  });
});

describe('composition and metrics', () => {
  const P = (name: string, value: string, domain: Prop['domain'] = 'occupation'): Prop => ({ name, value, domain });

  test('softmax over name positions binds each attribute to the name with most mass', () => {
    expect(softmax([0, Math.log(3)])).toEqual([0.25, 0.75].map((x) => expect.closeTo(x, 12)));
    const names = [{ pos: 1, value: 'Greg', score: 1 }, { pos: 5, value: 'Laura', score: 1 }, { pos: 9, value: 'Greg', score: 1 }];
    const attrs = [{ pos: 3, value: 'nurse', score: 1, domain: 'occupation' as const }, { pos: 7, value: 'physicist', score: 1, domain: 'occupation' as const }];
    // Greg appears twice: 0.3 + 0.3 beats Laura's 0.4 for the first attribute.
    const aff = [[Math.log(0.3), Math.log(0.4), Math.log(0.3)], [0, 5, 0]];
    const r = compose(attrs, names, aff);
    expect(r.props).toEqual([P('Greg', 'nurse'), P('Laura', 'physicist')]);
    expect(r.bindings[0].mass.Greg).toBeCloseTo(0.6, 12);
  });

  test('EM and Jaccard', () => {
    const truth = [P('Greg', 'nurse'), P('Laura', 'chef')];
    expect(exactMatch([P('Laura', 'chef'), P('Greg', 'nurse')], truth)).toBe(1);
    expect(exactMatch([P('Laura', 'nurse'), P('Greg', 'chef')], truth)).toBe(0);
    expect(jaccard([P('Greg', 'nurse'), P('Greg', 'chef')], truth)).toBeCloseTo(1 / 3, 12);
    expect(jaccard([], truth)).toBe(0);
    expect(jaccard([], [])).toBe(1);
  });

  test('decode: probes find names and values, the binding form pairs them, a form blind to binding cannot', () => {
    // d = 8: dims 0–1 carry the binding ID, dims 2–5 the identities Greg, Laura, nurse, physicist.
    const d = 8;
    const vec = (id: number, bind: number) => Float32Array.from({ length: d }, (_, i) => (i === id ? 1 : i === bind ? 1 : 0));
    const rows = [vec(6, 7), vec(2, 0), vec(6, 7), vec(4, 0), vec(6, 7), vec(3, 1), vec(6, 7), vec(5, 1)];
    const acts = new Float32Array(rows.length * d);
    rows.forEach((r, t) => acts.set(r, t * d));
    const norm8 = normalizeRows(acts, d);
    const probe = (domain: DomainProbe['domain'], values: string[], dims: number[]): DomainProbe => {
      const c = new Float32Array(values.length * d);
      dims.forEach((dim, k) => (c[k * d + dim] = 1));
      return { domain, layer: 0, offset: 0, values, centroids: c, threshold: 0.5, localization: [] };
    };
    const form = toForm('hessian', d, 2, [unit(d, 0), unit(d, 1)], [1, 1]);
    const blind = toForm('random', d, 2, [unit(d, 6), unit(d, 7)], [1, 1]);
    const fit: PropProbeFit = {
      version: 1, model: 'hand', d, nLayers: 1, probeLayer: 0, bindingLayer: 0, seed: 0,
      probes: [probe('name', ['Greg', 'Laura'], [2, 3]), probe('occupation', ['nurse', 'physicist'], [4, 5])],
      form, random: blind, seconds: { probes: 0, subspace: 0 },
    };
    // Laura's binding row put first among equals would win a tie; make Laura the first name position instead.
    const item = { contextStart: 0, contextEnd: rows.length };
    const good = decodeActs(fit, item, norm8, norm8, form);
    expect(good.names.map((n) => n.value)).toEqual(['Greg', 'Laura']);
    expect(good.props).toEqual([P('Greg', 'nurse'), P('Laura', 'physicist')]);
    expect(good.affinity[0][0]).toBeGreaterThan(good.affinity[0][1]);
    const bad = decodeActs(fit, item, norm8, norm8, blind);
    expect(exactMatch(bad.props, good.props)).toBe(0); // equal affinities: both values go to one name
    expect(affinities(form, norm8, [3], [1, 5])[0][1]).toBeCloseTo(0, 12);
  });
});

describe('data', () => {
  const vocab = buildVocab();
  const tok = new WordTokenizer(vocab);
  const enc = pieceEncoder((p) => tok.encode(p.trim()), tok.id('<bos>'), 'words');

  test('mentions sit on their words; questions, injection and paraphrase are where they belong', () => {
    for (const set of ['synth', 'paraphrase', 'injected'] as const) {
      for (const item of makeSet(set, 5, 3, enc)) {
        expect(item.ids[0]).toBe(tok.id('<bos>'));
        for (const m of item.mentions) {
          expect(vocab[item.ids[m.pos]]).toBe(m.value);
          expect(m.pos).toBeGreaterThanOrEqual(item.contextStart);
          expect(m.pos).toBeLessThan(item.contextEnd);
        }
        const k = new Set(item.truth.map((p) => p.name)).size;
        expect(k).toBeGreaterThanOrEqual(2);
        expect(k).toBeLessThanOrEqual(3);
        expect(item.questions.length).toBe(item.truth.length);
        for (const q of item.questions) expect(q.promptIds.slice(0, item.ids.length)).toEqual(item.ids);
        const text = tok.decode(item.ids);
        if (set === 'injected') {
          expect(item.injected).toBeDefined();
          expect(tok.decode(item.ids.slice(item.contextEnd))).toContain('Ignore the text above');
          expect(item.truth.some((p) => p.name === item.injected!.name && p.value === item.injected!.value && p.domain === item.injected!.domain)).toBe(false);
        } else expect(item.contextEnd).toBe(item.ids.length);
        if (set === 'paraphrase') expect(text).toMatch(/The (job|home|food|animal) of/);
      }
    }
    // The injected set is the SYNTH set's contexts with an injection after each.
    const synth = makeSet('synth', 5, 3, enc);
    makeSet('injected', 5, 3, enc).forEach((it, i) => {
      expect(it.ids.slice(0, it.contextEnd)).toEqual(synth[i].ids);
      expect(it.truth).toEqual(synth[i].truth);
    });
  });
});

/** f(x, y) = xᵀHy + aᵀx + bᵀy, seen through hooks: the loss is −f, its gradients arrive on 'grad' hooks. */
async function quadraticBackend(d: number, H: Columns, a: Float64Array, b: Float64Array, namePos: number, attrPos: number, T: number): Promise<ProbeBackend & { passes: number }> {
  const be = {
    d, nLayers: 1, passes: 0, rt: runtimeFor(await nodeGpu()),
    async forward(_ids: number[], hooks: HookSpec[]) {
      const cache: Record<string, Float32Array> = {};
      for (const h of hooks) if (h.op === 'read') cache[h.name] = Float32Array.from({ length: T * d }, (_, i) => (i % d === 0 ? 1 : 0));
      return { last: new Float32Array(4), cache };
    },
    async gradients(_ids: number[], _labels: number[], hooks: HookSpec[]) {
      be.passes++;
      const x = new Float64Array(d);
      const y = new Float64Array(d);
      for (const h of hooks) {
        if (h.op !== 'add') continue;
        const tgt = h.positions![0] === namePos ? x : h.positions![0] === attrPos ? y : null;
        if (tgt) for (let i = 0; i < d; i++) tgt[i] += (h.coeff ?? 1) * Number(h.value[i]);
      }
      const g = new Float32Array(T * d);
      for (let i = 0; i < d; i++) {
        let hy = a[i];
        let htx = b[i];
        for (let j = 0; j < d; j++) {
          hy += H[j][i] * y[j]; // H[j] is column j: (H y)_i = Σ_j H_ij y_j
          htx += H[i][j] * x[j]; // (Hᵀ x)_i = Σ_j H_ji x_j
        }
        g[namePos * d + i] = -hy;
        g[attrPos * d + i] = -htx;
      }
      const cache: Record<string, Float32Array> = {};
      for (const h of hooks) if (h.op === 'grad') cache[`${h.name}.grad`] = g;
      return { loss: 0.5, cache };
    },
  };
  return be;
}

describe('binding subspace estimator', () => {
  const d = 12;
  const U0 = randomBasis(d, 3, 11);
  const V0 = randomBasis(d, 3, 12);
  const S0 = [10, 5, 2];
  const H = compose3(U0, S0, V0);
  const prompt: HessianPrompt = {
    ids: [0, 1, 2, 3, 4, 5], labels: [-1, -1, -1, -1, 1, 1], perQuestion: [[-1, -1, -1, -1, 1, -1], [-1, -1, -1, -1, -1, 1]], pos: [[1, 2], [3, 4]],
  };
  const a = Float64Array.from({ length: d }, (_, i) => Math.sin(i));
  const b = Float64Array.from({ length: d }, (_, i) => Math.cos(i));

  // The fake reports a loss of 0.5 whatever the perturbation, so with the probability objective ∇ₓp = p·∇ₓlog p has
  // p = e^-0.5 throughout and the estimate is e^-0.5·H exactly; the log-probability objective sums both answer tokens.
  test.each([
    ['full', 'prob'], ['randomized', 'prob'], ['full', 'logprob'],
  ] as const)('%s / %s: top singular directions of a known mixed Hessian', async (estimator, objective) => {
    const be = await quadraticBackend(d, H, a, b, 3, 4, 6);
    const form = await bindingSubspace(be, [prompt], { k: 3, estimator, objective, oversample: 2, seed: 1 });
    expect(form.estimator).toBe(estimator);
    expect(be.passes).toBe((estimator === 'full' ? 2 * d : 4 * 5) * (objective === 'prob' ? 2 : 1));
    expect(form.passes).toBe(be.passes);
    const scale = objective === 'prob' ? Math.exp(-0.5) : 2;
    Array.from(form.S).forEach((s, k) => expect(s).toBeCloseTo(S0[k] * scale, 3));
    for (let m = 0; m < 3; m++) {
      const u = form.U.subarray(m * d, (m + 1) * d);
      expect(Math.abs(dot(u, U0[m]))).toBeCloseTo(1, 4);
      expect(norm(u)).toBeCloseTo(1, 5);
    }
  });
});

// ---- end to end on the engine --------------------------------------------------------------------------------------

const root = join(tmpdir(), `latentlab-prop-probes-${process.pid}`);
mkdirSync(root, { recursive: true });
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A tiny random Qwen2 (the Hub architecture) with the toy world's vocabulary and tokenizer. */
const tinyQwenWithTokenizer = () => writeToyVocabModel(root);

async function load(dir: string) {
  const files = folderFiles(dir);
  return { model: await Model.load(await nodeGpu(), files), tokenizer: await Tokenizer.load(files), lora: null };
}

const KEYS = ['em', 'jaccard', 'prompting_em', 'random_subspace_em', 'n'];

test('CLI probes on a tiny random Qwen2: fits, evaluates every set, reuses its fit', async () => {
  const dir = tinyQwenWithTokenizer();
  const l = await load(dir);
  const fitFile = join(root, 'fit.json');
  try {
    const common = { n: '3', seed: '1', fit: fitFile, rank: '4', 'train-contexts': '12', 'localize-samples': '3', 'hessian-prompts': '1', quiet: true };
    const first = (await probesCommand(l, { ...common, set: 'synth' })) as Record<string, unknown>;
    for (const k of KEYS) expect(first).toHaveProperty(k);
    expect(first.n).toBe(3);
    for (const k of ['em', 'jaccard', 'prompting_em', 'random_subspace_em']) {
      expect(first[k]).toBeGreaterThanOrEqual(0);
      expect(first[k]).toBeLessThanOrEqual(1);
    }
    expect(first.estimator).toBe('randomized');
    expect(first.rank).toBeLessThanOrEqual(4);
    expect(existsSync(fitFile)).toBe(true);
    const saved = readFileSync(fitFile, 'utf8');
    const again = (await probesCommand(l, { ...common, set: 'synth' })) as Record<string, unknown>;
    expect(again).toEqual(first); // the cached fit gives the same numbers
    expect(readFileSync(fitFile, 'utf8')).toBe(saved);
    for (const set of ['paraphrase', 'injected']) {
      const r = (await probesCommand(l, { ...common, set, template: 'english' })) as Record<string, unknown>;
      expect(r.set).toBe(set);
      expect(r.n).toBe(3);
    }
    await expect(probesCommand(l, { ...common, set: 'nope' })).rejects.toThrow(/--set must be one of/);
  } finally {
    l.model.dispose();
  }
}, 240_000);

test('page path: the engine worker API runs the method (fit, cache, cancel, decode, evaluate) as the pipeline does', async () => {
  const dir = tinyQwenWithTokenizer();
  const { createEngineApi } = await import('../src/workers/engine-api');
  const { methodClient } = await import('../src/workers/method-client');
  const { canonical, default: method } = await import('../src/methods/prop-probes/method');
  const { fitPropProbes, evaluateSet, readItem, decodeActs } = await import('../src/methods/prop-probes/pipeline');
  const { encodePieces, pieces } = await import('../src/methods/prop-probes/data');
  const { probeBackend } = await import('../src/methods/prop-probes/backend');
  const { lossGradients } = await import('../src/engine/trainer');
  // The pipeline run directly on a bare Model, no worker in between.
  const modelBackend = (model: Model) => probeBackend({
    config: model.config,
    async forward(ids, o = {}) {
      const r = await model.forward(ids, o);
      return { logits: r.logits ?? null, cache: r.cache };
    },
    gradients: (ids, labels, hooks) => lossGradients(model.parts, { ids, labels }, hooks),
  }, model.parts.rt);
  const { encoderFor } = await import('../src/methods/prop-probes/encoder');
  const api = createEngineApi(() => nodeGpu());
  const probes = methodClient<typeof method>(api, 'prop-probes');
  const blob = (f: string) => new Blob([readFileSync(join(dir, f))]);
  const info = await api.loadModel({ kind: 'local', label: 'tiny-qwen2', files: Object.fromEntries(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'].map((f) => [f, blob(f)])) });
  const direct = await load(dir);
  try {
    const ids = [2, 100, 200, 300, 400, 500];
    const labels = [-1, -1, -1, -1, 600, 700];
    const hooks: HookSpec[] = [
      { name: 'blocks.0.hook_resid_pre', op: 'add', value: new Float32Array(info.config.hidden).fill(0.1), positions: [2] },
      { name: 'blocks.1.hook_resid_pre', op: 'grad' },
    ];
    const w = await api.gradients(info.id, ids, labels, hooks);
    const m = await modelBackend(direct.model).gradients(ids, labels, hooks);
    expect(w.loss).toBeCloseTo(m.loss, 6);
    expect(Array.from(w.cache['blocks.1.hook_resid_pre.grad'])).toEqual(Array.from(m.cache['blocks.1.hook_resid_pre.grad']));
    expect(m.cache['blocks.1.hook_resid_pre.grad'].some((x) => x !== 0)).toBe(true);

    // The fit in the worker, and the same fit run directly on the method: the same probes and binding form.
    const settings = { probeLayer: 1, bindingLayer: 1, k: 3, trainContexts: 10, hessianPrompts: 1, estimator: 'auto' as const };
    expect(await probes.cached(info.id, { settings })).toBe(null);
    const stages = new Set<string>();
    const fitted = await probes.fit(info.id, { settings }, (p) => void stages.add(p.stage));
    expect(fitted.from).toBe('fitted now');
    expect([...stages]).toEqual(['localising values', 'reading training contexts', 'binding subspace (gradient passes)']);
    const f = fitted.fit;
    expect(f.key).toBe('tiny-qwen2|probe1|bind1|k3');
    expect(f.form.k).toBe(3);
    const enc = encoderFor(direct.tokenizer!);
    expect(enc.spacing).toBe('words'); // the toy-world tokenizer is recognised
    const b = modelBackend(direct.model);
    const ref = await fitPropProbes(b, enc, 'tiny-qwen2', { ...settings, seed: 0 });
    expect(f.form.spectrum).toEqual(ref.form.spectrum);
    expect(f.form.passes).toBe(ref.form.passes);
    expect(f.probes).toEqual(ref.probes.map((p) => ({ domain: p.domain, offset: p.offset, threshold: p.threshold, values: p.values })));
    // Plain data: it survives structured cloning as it is.
    expect(structuredClone(f)).toEqual(f);

    // The cache: the same settings find the fit; a forced refit can be cancelled.
    expect(await probes.cached(info.id, { settings })).toEqual(f);
    expect(await probes.fit(info.id, { settings })).toEqual({ fit: f, from: 'stored' });
    const refit = probes.fit(info.id, { settings, force: true });
    await probes.cancel(info.id);
    await expect(refit).rejects.toThrow(/cancelled/);

    // Typed text: canonical pieces, decoded with the fit, as the pipeline decodes them.
    const ps = pieces(canonical('Greg is a nurse. Laura lives in Rome.'), enc.spacing, true);
    expect(ps.map((p) => p.trim())).toEqual(['Greg', 'is', 'a', 'nurse', '.', 'Laura', 'lives', 'in', 'Rome', '.']);
    const c = encodePieces(enc, ps, enc.prefix.length);
    const item = { ids: [...enc.prefix, ...c.ids], contextStart: 1, contextEnd: 1 + c.ids.length };
    const acts = await readItem(b, ref, item.ids);
    const dec = decodeActs(ref, item, acts.probeActs, acts.bindActs);
    const read = await probes.read(info.id, { fitKey: f.key, context: { text: 'Greg is a nurse. Laura lives in Rome.' } });
    expect(read.tokens.map((t) => t.text)).toEqual(['<s>', ...c.tokens]);
    expect(read.decoded).toEqual(dec);
    expect(read.decoded.affinity.length).toBe(read.decoded.attrs.length);
    for (const p of read.decoded.props) expect(read.decoded.names.map((n) => n.value)).toContain(p.name);
    expect(read.answers.length).toBe(new Set(dec.names.map((n) => n.value)).size * new Set(dec.attrs.map((a) => a.domain)).size);
    expect(read.truth).toBe(null);
    await expect(probes.read(info.id, { fitKey: f.key, context: { text: '' } })).rejects.toThrow(/type a context first/);
    await expect(probes.read(info.id, { fitKey: 'nope', context: { text: 'Greg' } })).rejects.toThrow(/no propositional-probes fit/);

    // A generated item: its questions are asked and its truth comes back.
    const it = await probes.makeContext(info.id, { set: 'synth', seed: 7 });
    const onItem = await probes.read(info.id, { fitKey: f.key, context: it });
    expect(onItem.truth).toEqual(it.truth);
    expect(onItem.answers.map((a) => [a.name, a.domain])).toEqual(it.questions.map((q) => [q.name, q.domain]));

    // Evaluation: the same report as evaluateSet on the method.
    const { makeSet } = await import('../src/methods/prop-probes/data');
    const rep = await probes.evaluate(info.id, { fitKey: f.key, set: 'injected', n: 2, seed: 1 });
    expect(rep).toEqual(await evaluateSet(b, enc, ref, makeSet('injected', 2, 1, enc)));
    expect(rep.n).toBe(2);
    // The page's Cancel stops an evaluation too.
    const long = probes.evaluate(info.id, { fitKey: f.key, set: 'synth', n: 50, seed: 2 });
    await probes.cancel(info.id);
    await expect(long).rejects.toThrow(/propositional-probes evaluation cancelled/);
  } finally {
    direct.model.dispose();
    await api.dispose(info.id);
  }
}, 300_000);
