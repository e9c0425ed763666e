// Step 3 (binding subspace): the mixed second derivative ∂²f/∂x∂y of f = the model's mean probability of answering
// both binding questions of a two-entity context right (objective 'prob', as the paper; 'logprob' uses the mean
// log-probability instead, half the passes), with respect to a perturbation x added at entity 1's name token
// and y at its attribute token (at every layer's resid_pre, scaled by that layer's mean activation norm), after both
// entities were moved to the midpoint between their binding IDs. Estimated by central differences of gradients:
// H·v ≈ (∇ₓf(y = εv) − ∇ₓf(y = −εv)) / 2ε, each gradient one `gradients` call ('grad' hooks on every resid_pre).
// 'full' takes the d columns H·eⱼ (2d passes per prompt); 'randomized' takes H·Ω and Hᵀ·Q for k + p probe directions
// (4(k + p) passes per prompt) and is exact when H has rank ≤ k + p. Then the SVD on the GPU (engine/fit's randomized
// top-k SVD; for 'randomized' of the (k + p) × d matrix B, which it resolves exactly); U, S of rank k define the form.
import type { HookSpec } from '../../engine/hooks';
import { Rng, mixSeed } from '../../common/rng';
import { TRAIN_STYLES, bindingContext, type BindingContext } from '../../toyworld/families/binding';
import { readResid, residPre, row } from './activations';
import { buildItem, encodePieces, pieces, questionFor } from './data';
import { topSvd } from '../../engine/fit';
import { gaussianColumns, orthonormalize, type Columns } from './linalg';
import type { PieceEncoder, ProbeBackend, ProbeDomain, Progress } from './types';

export interface BindingForm {
  /** 'hessian' or 'random' (the control). */
  kind: 'hessian' | 'random';
  d: number;
  k: number;
  /** Columns of U (k × d, row-major: row m is the m-th singular vector). */
  U: Float32Array;
  S: Float32Array;
  estimator?: 'full' | 'randomized';
  objective?: 'prob' | 'logprob';
  /** Gradient passes spent. */
  passes?: number;
  /** The k singular values found (for display). */
  spectrum?: number[];
}

/** A prompt of the Hessian objective: a 2-entity, 1-domain context followed by both questions and their answers. */
export interface HessianPrompt {
  ids: number[];
  /** Labels of both answers (next-token targets, -1 elsewhere). */
  labels: number[];
  /** Labels of each question's answer alone. */
  perQuestion: number[][];
  /** Token positions [entity][name | attr]. */
  pos: [[number, number], [number, number]];
}

export function hessianPrompts(enc: PieceEncoder, n: number, seed: number, offsetOf: (d: ProbeDomain) => number = () => 0): HessianPrompt[] {
  const rng = new Rng(mixSeed(seed, 'prop-probes/hessian'));
  const out: HessianPrompt[] = [];
  for (let i = 0; i < n; i++) {
    const ctx: BindingContext = bindingContext(rng, 2, 1, rng.pick(TRAIN_STYLES));
    const item = buildItem(ctx, enc, null);
    const ids = [...item.ids];
    const labels = ids.map(() => -1);
    const spans: [number, number][] = [];
    for (const e of [0, 1]) {
      const from = ids.length;
      const q = questionFor(ctx, e, ctx.domains[0]);
      const qIds = encodePieces(enc, pieces(q.text, enc.spacing, false), ids.length).ids;
      ids.push(...qIds);
      labels.push(...qIds.map(() => -1));
      const ans = encodePieces(enc, pieces(`${q.answer} .`, enc.spacing, false), ids.length).ids;
      // The label at position t is the token at t + 1: every answer token is predicted.
      labels[ids.length - 1] = ans[0];
      for (let j = 0; j < ans.length; j++) {
        ids.push(ans[j]);
        labels.push(j + 1 < ans.length - 1 ? ans[j + 1] : -1);
      }
      spans.push([from, ids.length]);
    }
    const perQuestion = spans.map(([a, z]) => labels.map((x, t) => (t >= a - 1 && t < z ? x : -1)));
    const at = (e: number, name: boolean) => {
      const m = item.mentions.find((x) => x.entity === e && (name ? x.domain === 'name' : x.domain !== 'name'))!;
      const p = m.pos + offsetOf(m.domain);
      return Math.min(Math.max(p, item.contextStart), item.contextEnd - 1);
    };
    out.push({ ids, labels, perQuestion, pos: [[at(0, true), at(0, false)], [at(1, true), at(1, false)]] });
  }
  return out;
}

export interface HessianOptions {
  k: number;
  estimator?: 'full' | 'randomized' | 'auto';
  /** f: mean probability of both right answers (default, the paper's), or their mean log-probability. */
  objective?: 'prob' | 'logprob';
  /** Extra directions for the randomized range finder. */
  oversample?: number;
  /** Finite-difference step, in units of the layer's mean activation norm. */
  eps?: number;
  seed: number;
  onProgress?: Progress;
  /** Stop early (the page's cancel button). */
  signal?: { aborted: boolean };
}

interface Prepared {
  prompt: HessianPrompt;
  fixed: HookSpec[];
}

/** Midpoint shifts and scales from the prompts' own activations (the reference's b(0) − b(1) mean differences). */
async function prepare(b: ProbeBackend, prompts: HessianPrompt[]): Promise<{ prepared: Prepared[]; scales: { name: number[]; attr: number[] } }> {
  const L = b.nLayers;
  const d = b.d;
  const layers = Array.from({ length: L }, (_, l) => l);
  const delta = [0, 1].map(() => layers.map(() => new Float64Array(d))); // [name|attr][layer]
  const scales = { name: layers.map(() => 0), attr: layers.map(() => 0) };
  for (const p of prompts) {
    const { acts } = await readResid(b, p.ids, layers);
    for (const l of layers) {
      const a = acts.get(l)!;
      for (const which of [0, 1]) {
        const r0 = row(a, p.pos[0][which], d);
        const r1 = row(a, p.pos[1][which], d);
        for (let i = 0; i < d; i++) delta[which][l][i] += (r0[i] - r1[i]) / prompts.length;
        let n0 = 0;
        let n1 = 0;
        for (let i = 0; i < d; i++) [n0, n1] = [n0 + r0[i] ** 2, n1 + r1[i] ** 2];
        const s = (Math.sqrt(n0) + Math.sqrt(n1)) / 2 / prompts.length;
        if (which === 0) scales.name[l] += s;
        else scales.attr[l] += s;
      }
    }
  }
  // The hooks add; added at every layer the shifts accumulate down the residual stream, so each layer adds only the
  // change of b(0) − b(1) since the previous layer: the total shift at layer l is then ±½(b(0) − b(1)) at l.
  const prepared = prompts.map((prompt) => {
    const fixed: HookSpec[] = [];
    for (const l of layers) {
      for (const which of [0, 1]) {
        const inc = Float32Array.from(delta[which][l], (x, i) => x - (l > 0 ? delta[which][l - 1][i] : 0));
        fixed.push({ name: residPre(l), op: 'add', value: inc, coeff: -0.5, positions: [prompt.pos[0][which]] });
        fixed.push({ name: residPre(l), op: 'add', value: inc, coeff: 0.5, positions: [prompt.pos[1][which]] });
      }
    }
    return { prompt, fixed };
  });
  return { prepared, scales };
}

/**
 * ∇ₓf and ∇ᵧf (averaged over prompts) with x = ex·u added at entity 1's name and y = ey·v at its attribute
 * (u, v unit directions or null), each layer scaled by its mean norm. With 'prob', each question is its own pass:
 * ∇p = −p·∇(Σ cross-entropy), p = exp(−Σ cross-entropy); with 'logprob' one pass covers both answers.
 */
async function gradXY(b: ProbeBackend, prep: Prepared[], scales: { name: number[]; attr: number[] }, u: Float64Array | null, v: Float64Array | null, ex: number, ey: number, objective: 'prob' | 'logprob'): Promise<{ gx: Float64Array; gy: Float64Array }> {
  const d = b.d;
  const gx = new Float64Array(d);
  const gy = new Float64Array(d);
  for (const { prompt, fixed } of prep) {
    const hooks: HookSpec[] = [...fixed];
    for (let l = 0; l < b.nLayers; l++) {
      if (u) hooks.push({ name: residPre(l), op: 'add', value: Float32Array.from(u), coeff: ex * scales.name[l], positions: [prompt.pos[1][0]] });
      if (v) hooks.push({ name: residPre(l), op: 'add', value: Float32Array.from(v), coeff: ey * scales.attr[l], positions: [prompt.pos[1][1]] });
      hooks.push({ name: residPre(l), op: 'grad' });
    }
    const runs = objective === 'prob' ? prompt.perQuestion : [prompt.labels];
    for (const labels of runs) {
      const counted = labels.filter((x) => x >= 0).length;
      const { loss, cache } = await b.gradients(prompt.ids, labels, hooks);
      // loss is the mean cross-entropy over `counted` tokens; Σ CE = counted·loss.
      const w = (objective === 'prob' ? Math.exp(-counted * loss) * counted : counted) / runs.length / prep.length;
      for (let l = 0; l < b.nLayers; l++) {
        const g = cache[`${residPre(l)}.grad`];
        const rx = row(g, prompt.pos[1][0], d);
        const ry = row(g, prompt.pos[1][1], d);
        for (let i = 0; i < d; i++) {
          gx[i] -= w * scales.name[l] * rx[i];
          gy[i] -= w * scales.attr[l] * ry[i];
        }
      }
    }
  }
  return { gx, gy };
}

/** Estimate the mixed Hessian's top-k singular directions. */
export async function bindingSubspace(b: ProbeBackend, prompts: HessianPrompt[], o: HessianOptions): Promise<BindingForm> {
  const d = b.d;
  const k = Math.min(o.k, d);
  const eps = o.eps ?? 0.05;
  const p = o.oversample ?? 5;
  const estimator = o.estimator === 'full' || o.estimator === 'randomized' ? o.estimator : 2 * d <= 4 * (k + p) ? 'full' : 'randomized';
  const { prepared, scales } = await prepare(b, prompts);
  const objective = o.objective ?? 'prob';
  const perEval = prompts.length * (objective === 'prob' ? 2 : 1);
  let passes = 0;
  const total = (estimator === 'full' ? 2 * d : 4 * Math.min(d, k + p)) * perEval;
  const step = async (u: Float64Array | null, v: Float64Array | null, sx: number, sy: number) => {
    if (o.signal?.aborted) throw new Error('binding subspace: cancelled');
    const r = await gradXY(b, prepared, scales, u, v, sx, sy, objective);
    passes += perEval;
    o.onProgress?.('binding subspace (gradient passes)', passes, total);
    return r;
  };
  /** H·v by central differences along y. */
  const hv = async (v: Float64Array) => {
    const plus = (await step(null, v, 0, eps)).gx;
    const minus = (await step(null, v, 0, -eps)).gx;
    return plus.map((x, i) => (x - minus[i]) / (2 * eps));
  };
  /** Hᵀ·u by central differences along x. */
  const htu = async (u: Float64Array) => {
    const plus = (await step(u, null, eps, 0)).gy;
    const minus = (await step(u, null, -eps, 0)).gy;
    return plus.map((x, i) => (x - minus[i]) / (2 * eps));
  };
  let U: Columns;
  let S: number[];
  if (estimator === 'full') {
    const cols: Columns = [];
    for (let j = 0; j < d; j++) {
      const e = new Float64Array(d);
      e[j] = 1;
      cols.push(await hv(e));
    }
    // cols[j] = H·e_j, so the rows uploaded are Hᵀ's and its right singular vectors are H's left ones.
    // Oversampling by k as well (2k directions) keeps the k-th vector accurate where the spectrum has small gaps.
    const r = await topSvd(b.rt, cols, k, { oversample: Math.max(10, k), seed: mixSeed(o.seed, 'hessian/svd') });
    [U, S] = [r.V, Array.from(r.S)];
  } else {
    const omega = gaussianColumns(d, Math.min(d, k + p), mixSeed(o.seed, 'hessian/omega'));
    const Y: Columns = [];
    for (const w of omega) {
      const n = Math.hypot(...w);
      Y.push(await hv(w.map((x) => x / n)));
    }
    const Q = orthonormalize(Y);
    const Bt: Columns = [];
    for (const q of Q) Bt.push(await htu(q)); // columns of Bᵀ = Hᵀ Q, i.e. B = Qᵀ H
    // Bᵀ's columns uploaded as rows are B (l × d): B = W Σ Zᵀ, so H ≈ Q W Σ Zᵀ with W = B's left singular vectors.
    const r = await topSvd(b.rt, Bt, Math.min(k, Bt.length), { withU: true, seed: mixSeed(o.seed, 'hessian/svd') });
    U = r.U!.map((w) => {
      const u = new Float64Array(d);
      Q.forEach((q, m) => {
        for (let i = 0; i < d; i++) u[i] += w[m] * q[i];
      });
      return u;
    });
    S = Array.from(r.S);
  }
  return toForm('hessian', d, Math.min(k, U.length), U, S, { estimator, objective, passes, spectrum: S });
}

export function toForm(kind: BindingForm['kind'], d: number, k: number, U: Columns, S: number[], extra: Partial<BindingForm> = {}): BindingForm {
  const Uf = new Float32Array(k * d);
  for (let m = 0; m < k; m++) Uf.set(U[m], m * d);
  return { kind, d, k, U: Uf, S: Float32Array.from(S.slice(0, k)), ...extra };
}
