// k-means and class centroids on the GPU (src/engine/fit/kmeans.ts, shaders/kmeans.wgsl) against float64 Lloyd
// from the same initial rows (tests/reference/fit.ts). Tolerance (f32 means over ≤ 400 rows): labels equal,
// centroids within 1e-5 + 1e-5·|ref|, inertia within 1e-4 relative.
import { beforeAll, describe, expect, test } from 'vitest';
import { nodeGpu } from '../src/gpu/node';
import type { Runtime } from '../src/gpu/runtime';
import { runtimeFor } from '../src/engine/model';
import { classMeans, kmeans } from '../src/engine/fit';
import { referenceKmeans } from './reference/fit';
import { expectClose } from './helpers/close';
import { clusters, flat } from './helpers/fit-data';

describe('k-means and class means on the GPU', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = runtimeFor(await nodeGpu());
  });

  test('Lloyd from k-means++ seeds matches float64 Lloyd from the same seeds', async () => {
    const { X } = clusters(400, 16, 5, 1, 1.5);
    const got = await kmeans(rt, X, 5, { seed: 7 });
    expect(got.converged).toBe(true);
    expect(new Set(got.init).size).toBe(5);
    const ref = referenceKmeans(X, got.init);
    expect(Array.from(got.labels)).toEqual(ref.labels);
    expectClose('centroids', got.centroids, flat(ref.centroids), 1e-5, 1e-5);
    expectClose('inertia', [got.inertia], [ref.inertia], 0, 1e-4);
    expect(got.sizes.reduce((a, b) => a + b, 0)).toBe(400);
    // Same seed, same fit; the seeding is D²-weighted, so well-separated clusters each get a centre.
    const again = await kmeans(rt, X, 5, { seed: 7 });
    expect(again.init).toEqual(got.init);
  });

  test('overlapping clusters from given initial rows, input already on the GPU', async () => {
    const { X } = clusters(300, 8, 3, 2, 4);
    const init = [0, 1, 2, 3];
    const buf = rt.createStatic(flat(X));
    const got = await kmeans(rt, { buf, rows: 300, cols: 8 }, 4, { init });
    buf.destroy();
    const ref = referenceKmeans(X, init);
    expect(Array.from(got.labels)).toEqual(ref.labels);
    expectClose('centroids', got.centroids, flat(ref.centroids), 1e-5, 1e-5);
  });

  test('an emptied cluster is re-seeded at the farthest row', async () => {
    // Two identical starting rows: the second centre gets no rows (ties go to the lower index).
    const { X } = clusters(100, 4, 2, 3, 0.5);
    const got = await kmeans(rt, X, 2, { init: [0, 0] });
    expect(got.converged).toBe(true);
    expect(got.sizes.every((s) => s > 0)).toBe(true);
  });

  test('class means: each class mean and the overall mean match float64', async () => {
    const { X, y } = clusters(90, 10, 3, 4);
    const got = await classMeans(rt, X, y);
    const want = [0, 1, 2].flatMap((c) => {
      const rows = X.filter((_, i) => y[i] === c);
      return Array.from({ length: 10 }, (_, j) => rows.reduce((s, r) => s + r[j], 0) / rows.length);
    });
    expectClose('means', got.means, want, 1e-5, 1e-5);
    expectClose('mean', got.mean, Array.from({ length: 10 }, (_, j) => X.reduce((s, r) => s + r[j], 0) / 90), 1e-5, 1e-5);
    expect(got.sizes).toEqual([30, 30, 30]);
  });

  test('bad input is refused with the problem named', async () => {
    const { X, y } = clusters(20, 4, 2, 5);
    await expect(kmeans(rt, X, 21)).rejects.toThrow(/k = 21 exceeds the number of rows \(20\)/);
    await expect(kmeans(rt, X, 0)).rejects.toThrow(/positive integer/);
    await expect(kmeans(rt, X.map(() => new Float32Array([1, 2, 3, 4])), 2)).rejects.toThrow(/only 1 distinct rows, fewer than k = 2/);
    await expect(kmeans(rt, X, 2, { init: [0, 99] })).rejects.toThrow(/init must be 2 row indices < 20/);
    const { X: X2 } = clusters(300, 8, 3, 2, 4);
    await expect(kmeans(rt, X2, 4, { init: [0, 1, 2, 3], maxIter: 2 })).rejects.toThrow(/did not converge in 2 iterations/);
    const partial = await kmeans(rt, X2, 4, { init: [0, 1, 2, 3], maxIter: 2, allowUnconverged: true });
    expect(partial.converged).toBe(false);
    await expect(classMeans(rt, X, y, 3)).rejects.toThrow(/class 2 has no examples/);
    const bad = flat(X);
    bad[9] = Infinity;
    const buf = rt.createStatic(bad);
    await expect(kmeans(rt, { buf, rows: 20, cols: 4 }, 2)).rejects.toThrow(/k-means input: column 1 holds NaN or infinite/);
    await expect(classMeans(rt, { buf, rows: 20, cols: 4 }, y)).rejects.toThrow(/column 1 holds NaN or infinite/);
    buf.destroy();
  });
});
