// The GPU sampler (sampling.wgsl) against the CPU reference: greedy is argmax with the lowest index on
// ties; temperature / top-k / top-p keep exactly the reference's set, at the reference's frequencies.
import { describe, expect, test } from 'vitest';
import { nodeGpu } from '../src/gpu/node';
import { Pass } from '../src/gpu/runtime';
import { runtimeFor } from '../src/engine/model';
import { logSoftmax } from '../src/engine/ops';
import { sampleRows } from '../src/engine/forward';
import { checkSampling, sampledToken } from '../src/engine/sampler';
import { seededRandom } from '../src/common/rng';
import { argmax, samplingDistribution } from './reference/sampling';

const rng = seededRandom(17);
// A vocabulary row with a clear head, a tie at the top, and a long tail (V not a multiple of the workgroup).
const V = 1000;
const row = Array.from({ length: V }, (_, i) => (i === 5 || i === 700 ? 4 : 3 * Math.sin(i * 0.37) + rng()));

async function draw(n: number, o: { temperature: number; topK?: number; topP?: number }, seed = 1, values = row, u?: number): Promise<number[]> {
  const rt = runtimeFor(await nodeGpu());
  const logits = rt.createStatic(Float32Array.from(values));
  const r = seededRandom(seed);
  const pass = new Pass(rt);
  const reads: Promise<Float32Array>[] = [];
  for (let i = 0; i < n; i++) reads.push(sampleRows(pass, values.length, logits, o, [u ?? r()]));
  await pass.submit();
  logits.destroy();
  return (await Promise.all(reads)).map((f) => new Uint32Array(f.buffer)[0]);
}

function expectFrequencies(ids: number[], want: Float64Array): void {
  const counts = new Float64Array(V);
  for (const id of ids) counts[id]++;
  for (let i = 0; i < V; i++) {
    if (want[i] === 0) expect(counts[i], `token ${i} is outside the kept set`).toBe(0);
    else expect(Math.abs(counts[i] / ids.length - want[i]), `token ${i}`).toBeLessThan(4.5 * Math.sqrt(want[i] / ids.length) + 2e-3);
  }
}

describe('GPU sampler', () => {
  test('greedy takes the lowest index among equal maxima', async () => {
    expect(argmax(row)).toBe(5);
    expect(await draw(3, { temperature: 0 })).toEqual([5, 5, 5]);
  });

  test('a NaN or +Inf logit anywhere gives no token (not argmax\'s index 0), greedy or sampled; -Inf is a masked token', async () => {
    for (const [at, bad] of [[0, NaN], [999, NaN], [300, Infinity]] as const) {
      const values = row.map((x, i) => (i === at ? bad : x));
      expect(await draw(1, { temperature: 0 }, 1, values)).toEqual([0xffffffff]);
      expect(await draw(1, { temperature: 1, topK: 5 }, 1, values)).toEqual([0xffffffff]);
    }
    expect(await draw(1, { temperature: 0 }, 1, row.map((x, i) => (i === 5 ? -Infinity : x)))).toEqual([700]);
    expect(() => sampledToken(0xffffffff, V)).toThrow(/logits hold NaN or \+Inf, so no token can be chosen/);
    expect(sampledToken(V - 1, V)).toBe(V - 1);
  });

  test('temperature sampling follows the softmax', async () => {
    expectFrequencies(await draw(800, { temperature: 1.5 }), samplingDistribution(row, 1.5));
  });

  test('top-k keeps exactly the k most likely tokens', async () => {
    expectFrequencies(await draw(500, { temperature: 1, topK: 12 }), samplingDistribution(row, 1, 12));
  });

  test('top-p keeps the smallest set reaching p, also inside top-k', async () => {
    expectFrequencies(await draw(500, { temperature: 0.7, topP: 0.6 }), samplingDistribution(row, 0.7, 0, 0.6));
    expectFrequencies(await draw(500, { temperature: 1, topK: 30, topP: 0.8 }), samplingDistribution(row, 1, 30, 0.8));
  });

  test('a vocabulary over 4,096 (256 threads per row) samples like the reference too', async () => {
    const wide = Array.from({ length: 5000 }, (_, i) => (i === 4321 ? 6 : 3 * Math.sin(i * 0.37) + rng()));
    const ids = await draw(400, { temperature: 0.8, topK: 20, topP: 0.9 }, 5, wide);
    expect((await draw(1, { temperature: 0 }, 1, wide))[0]).toBe(argmax(wide));
    const want = samplingDistribution(wide, 0.8, 20, 0.9);
    const counts = new Map<number, number>();
    for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
    for (const [id, c] of counts) {
      expect(want[id], `token ${id} is outside the kept set`).toBeGreaterThan(0);
      expect(Math.abs(c / ids.length - want[id])).toBeLessThan(4.5 * Math.sqrt(want[id] / ids.length) + 2e-3);
    }
  });

  test('several rows in one dispatch each get the token they get alone', async () => {
    const rows = [row, row.map((x) => -x), row.map((x, i) => x + Math.cos(i))];
    const o = { temperature: 0.9, topK: 40, topP: 0.9 };
    const us = [0.13, 0.58, 0.91];
    const alone = await Promise.all(rows.map(async (values, r) => (await draw(1, o, 1, values, us[r]))[0]));
    const rt = runtimeFor(await nodeGpu());
    const logits = rt.createStatic(Float32Array.from(rows.flat()));
    const pass = new Pass(rt);
    const read = sampleRows(pass, V, logits, o, us);
    await pass.submit();
    expect(Array.from(new Uint32Array((await read).buffer))).toEqual(alone);
    logits.destroy();
  });

  test('log-softmax rows match the reference', async () => {
    const rt = runtimeFor(await nodeGpu());
    const logits = rt.createStatic(Float32Array.from([...row, ...row.map((x) => -x)]));
    const pass = new Pass(rt);
    const out = pass.scratchBuffer(2 * V * 4);
    logSoftmax(pass, logits, out, 2, V);
    const got = pass.read(out, 2 * V * 4);
    await pass.submit();
    const g = await got;
    for (const [r, src] of [row, row.map((x) => -x)].entries()) {
      const m = Math.max(...src);
      const lz = m + Math.log(src.reduce((a, x) => a + Math.exp(x - m), 0));
      src.forEach((x, i) => expect(Math.abs(g[r * V + i] - (x - lz))).toBeLessThan(1e-5));
    }
    logits.destroy();
  });

  test('bad settings are refused', () => {
    expect(() => checkSampling({ temperature: -1 })).toThrow(/temperature must be ≥ 0/);
    expect(() => checkSampling({ temperature: 1, topP: 0 })).toThrow(/top_p must be in/);
    expect(() => checkSampling({ topK: 1.5 })).toThrow(/top_k must be a non-negative integer/);
  });
});
