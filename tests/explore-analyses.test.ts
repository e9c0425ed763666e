// Explore's analyses (src/methods/explore: logit lens, patching sweeps, steering vectors), run as the page runs them
// (EngineApi.method through methodClient) in Node on Dawn and checked against the float64 reference: the lens reads the final norm and unembedding off
// the reference weights on the CPU; patching cells are recomputed with the reference's own hooks.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createEngineApi } from '../src/workers/engine-api';
import { nodeGpu } from '../src/gpu/node';
import type { EngineApi, LoadedModel, PatchingProgress } from '../src/workers/api';
import { methodClient, type MethodClient } from '../src/workers/method-client';
import type Explore from '../src/methods/explore/method';
import type { MethodProgress } from '../src/methods/kit/context';
import { writeTinyModel, type TinyKind } from './fixtures/tiny-models';
import { loadRefModel, referenceForward, type RefModel } from './reference/reference';

function folderBlobs(dir: string): Record<string, Blob> {
  return Object.fromEntries(['config.json', 'model.safetensors'].map((f) => [f, new Blob([readFileSync(join(dir, f))])]));
}

/** Final norm + unembedding of one residual row, in float64 from the reference weights. */
function readOut(ref: RefModel, x: ArrayLike<number>): Float64Array {
  const c = ref.config;
  const D = c.hidden;
  const gpt2 = c.arch === 'gpt2';
  let mean = 0;
  if (gpt2) for (let j = 0; j < D; j++) mean += x[j] / D;
  let ss = 0;
  for (let j = 0; j < D; j++) ss += (x[j] - mean) ** 2 / D;
  const inv = 1 / Math.sqrt(ss + c.normEps);
  const w = ref.tensors.get(gpt2 ? 'transformer.ln_f.weight' : 'model.norm.weight')!;
  const b = gpt2 ? ref.tensors.get('transformer.ln_f.bias')! : null;
  const h = Float64Array.from({ length: D }, (_, j) => (x[j] - mean) * inv * w[j] + (b ? b[j] : 0));
  const U = c.tiedEmbeddings ? ref.tensors.get(gpt2 ? 'transformer.wte.weight' : 'model.embed_tokens.weight')! : ref.tensors.get('lm_head.weight')!;
  return Float64Array.from({ length: c.vocab }, (_, v) => {
    let s = 0;
    for (let j = 0; j < D; j++) s += U[v * D + j] * h[j];
    return s;
  });
}

const softmaxAt = (row: Float64Array, id: number): number => {
  const m = Math.max(...row);
  let sum = 0;
  for (const v of row) sum += Math.exp(v - m);
  return Math.exp(row[id] - m) / sum;
};

const argmax = (row: ArrayLike<number>): number => {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
};

let api: EngineApi;
let explore: MethodClient<typeof Explore>;
beforeAll(() => {
  api = createEngineApi(() => nodeGpu());
  explore = methodClient<typeof Explore>(api, 'explore');
});

describe.each(['llama-gqa', 'gpt2'] as TinyKind[])('%s', (kind) => {
  let ref: RefModel;
  let m: LoadedModel;
  beforeAll(async () => {
    const dir = writeTinyModel(kind, 3);
    ref = loadRefModel(dir);
    m = await api.loadModel({ kind: 'local', label: kind, files: folderBlobs(dir) });
  });

  it('logit lens: every (layer, position) cell is the stream read out through the final norm and unembedding', async () => {
    const ids = [1, 17, 5, 42, 9];
    const lens = await explore.lens(m.id, { ids, k: 3 });
    const L = ref.config.nLayers;
    const D = ref.config.hidden;
    expect(lens.rows).toEqual(['embed', ...Array.from({ length: L }, (_, i) => `layer ${i}`)]);
    expect(lens.positions).toBe(ids.length);
    const names = ['blocks.0.hook_resid_pre', ...Array.from({ length: L }, (_, i) => `blocks.${i}.hook_resid_post`)];
    const want = referenceForward(ref, ids, names.map((name) => ({ name, op: 'read' })));
    names.forEach((name, r) => {
      for (let p = 0; p < ids.length; p++) {
        const row = readOut(ref, want.cache.get(name)!.subarray(p * D, (p + 1) * D));
        const cell = lens.top[r][p];
        expect(cell).toHaveLength(3);
        expect(cell[0].id).toBe(argmax(row));
        for (const t of cell) expect(t.prob).toBeCloseTo(softmaxAt(row, t.id), 4);
        expect(cell[0].prob).toBeGreaterThanOrEqual(cell[1].prob);
        expect(cell[0].text).toBe(`#${cell[0].id}`);
      }
    });
    // The last row is the model's own prediction; `final` tracks its probability through the layers.
    const V = ref.config.vocab;
    for (let p = 0; p < ids.length; p++) {
      const predicted = argmax(want.logits.subarray(p * V, (p + 1) * V));
      expect(lens.top[L][p][0].id).toBe(predicted);
      names.forEach((name, r) => {
        const row = readOut(ref, want.cache.get(name)!.subarray(p * D, (p + 1) * D));
        expect(lens.final[r][p]).toBeCloseTo(softmaxAt(row, predicted), 4);
      });
    }
  });

  describe('activation patching', () => {
    const clean = [1, 20, 25, 4, 9, 30];
    const corrupt = [1, 21, 25, 4, 9, 30];
    let answer: number;
    let wrong: number;
    beforeAll(() => {
      const V = ref.config.vocab;
      const c = referenceForward(ref, clean).logits.subarray((clean.length - 1) * V);
      answer = argmax(c);
      wrong = (answer + 7) % V;
    });

    it('recovers 1 at the final stream of the last position, 0 where nothing differs, and matches the reference elsewhere', async () => {
      const seen: PatchingProgress[] = [];
      const r = await explore.patch(m.id, { clean, corrupt, answer, wrong }, (p: MethodProgress) => void seen.push(p.detail as PatchingProgress));
      const L = ref.config.nLayers;
      const H = ref.config.nHeads;
      const T = clean.length;
      const V = ref.config.vocab;
      const metric = (ids: number[], hooks: Parameters<typeof referenceForward>[2] = []) => {
        const row = referenceForward(ref, ids, hooks).logits.subarray((T - 1) * V);
        return row[answer] - row[wrong];
      };
      const mc = metric(clean);
      const mx = metric(corrupt);
      expect(r.metricClean).toBeCloseTo(mc, 3);
      expect(r.metricCorrupt).toBeCloseTo(mx, 3);
      expect(r.cancelled).toBe(false);
      expect(r.total).toBe((L + 1) * T + L * H);
      expect(r.done).toBe(r.total);
      expect(seen.map((s) => s.done)).toEqual(Array.from({ length: r.total }, (_, i) => i + 1));
      const resid = r.resid!;
      expect([resid.rows, resid.cols]).toEqual([L + 1, T]);
      const at = (row: number, col: number) => resid.values[row * T + col];
      expect(at(L, T - 1)).toBeCloseTo(1, 4);
      for (let p = 0; p < T - 1; p++) expect(Math.abs(at(L, p))).toBeLessThan(1e-4);
      // Layer 0's stream is the embedding: positions whose tokens agree patch in the same vector.
      for (let p = 0; p < T; p++) if (clean[p] === corrupt[p]) expect(Math.abs(at(0, p))).toBeLessThan(1e-5);
      // A middle cell and a head, recomputed with the reference's hooks.
      const name = 'blocks.1.hook_resid_pre';
      const act = referenceForward(ref, clean, [{ name, op: 'read' }]).cache.get(name)!;
      const want = (metric(corrupt, [{ name, op: 'replace', value: act, positions: [1] }]) - mx) / (mc - mx);
      expect(at(1, 1)).toBeCloseTo(want, 3);
      const z = 'blocks.0.attn.hook_z';
      const zAct = referenceForward(ref, clean, [{ name: z, op: 'read' }]).cache.get(z)!;
      const wantHead = (metric(corrupt, [{ name: z, op: 'replace', value: zAct, heads: [2] }]) - mx) / (mc - mx);
      expect(r.heads!.values[0 * H + 2]).toBeCloseTo(wantHead, 3);
      expect(r.heads!.rowLabels).toEqual(Array.from({ length: L }, (_, l) => `layer ${l}`));
    });

    it('stops when the call is cancelled, keeping what was measured', async () => {
      const r = await explore.patch(m.id, { clean, corrupt, answer, wrong, heads: false }, (p: MethodProgress) => void (p.done === 3 && explore.cancel(m.id)));
      expect(r.cancelled).toBe(true);
      expect(r.done).toBe(3);
      expect(r.heads).toBeNull();
      const filled = Array.from(r.resid!.values).filter((v) => !Number.isNaN(v));
      expect(filled).toHaveLength(3);
    });

    it('refuses prompts of different lengths and useless metrics with a clear message', async () => {
      await expect(explore.patch(m.id, { clean, corrupt: corrupt.slice(1), answer, wrong })).rejects.toThrow(/6 tokens and the corrupted one 5/);
      await expect(explore.patch(m.id, { clean, corrupt, answer, wrong: answer })).rejects.toThrow(/same token/);
      await expect(explore.patch(m.id, { clean, corrupt: clean, answer, wrong })).rejects.toThrow(/same logit difference/);
    });
  });

  it('steering vector: difference of position-averaged means over two prompt sets', async () => {
    const positive = [[1, 5, 9], [1, 6]];
    const negative = [[1, 40, 41, 42]];
    const hook = 'blocks.1.hook_resid_pre';
    const v = await explore.steeringVector(m.id, { hook, positive, negative });
    const D = ref.config.hidden;
    const mean = (set: number[][]) => {
      const acc = new Float64Array(D);
      for (const ids of set) {
        const a = referenceForward(ref, ids, [{ name: hook, op: 'read' }]).cache.get(hook)!;
        for (let p = 0; p < ids.length; p++) for (let j = 0; j < D; j++) acc[j] += a[p * D + j] / ids.length / set.length;
      }
      return acc;
    };
    const a = mean(positive);
    const b = mean(negative);
    expect(v).toHaveLength(D);
    for (let j = 0; j < D; j++) expect(v[j]).toBeCloseTo(a[j] - b[j], 4);
    await expect(explore.steeringVector(m.id, { hook: 'blocks.1.attn.hook_z', positive, negative })).rejects.toThrow(/residual stream/);
    await expect(explore.steeringVector(m.id, { hook: 'blocks.9.hook_resid_pre', positive, negative })).rejects.toThrow(/has layers 0\.\.\d+/);
    // Steering with it: coefficient 0 leaves generation unchanged bit for bit; a large one changes it. Each token streams.
    const plain = await api.generate(m.id, [1, 5], { maxNewTokens: 8, stop: [] });
    const streamed: string[] = [];
    const zero = await explore.steer(m.id, { ids: [1, 5], hook, vector: Array.from(v), coeff: 0, maxNewTokens: 8, stop: [] }, (p: MethodProgress) => void streamed.push(p.stage));
    expect(zero.unsteered.ids).toEqual(plain.ids);
    expect(zero.steered.ids).toEqual(plain.ids);
    expect(streamed).toEqual([...Array(8).fill('unsteered'), ...Array(8).fill('steered')]);
    expect(zero.steered.pieces).toEqual(plain.ids.map((id) => `#${id}`));
    const big = await explore.steer(m.id, { ids: [1, 5], hook, vector: Array.from(v), coeff: 40, maxNewTokens: 8, stop: [] });
    expect(big.unsteered.ids).toEqual(plain.ids);
    expect(big.steered.ids).not.toEqual(plain.ids);
    await expect(explore.steer(m.id, { ids: [1, 5], hook, vector: [1, 2], coeff: 1, maxNewTokens: 8 })).rejects.toThrow(/2 entries/);
  });
});
