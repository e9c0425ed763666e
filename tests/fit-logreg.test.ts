// Logistic-regression probes on the GPU (src/engine/fit/logreg.ts, shaders/logreg.wgsl) against the float64
// reference (tests/reference/fit.ts), both solved to their stopping rule on the same strongly convex objective.
// Tolerance (f32): GPU stopped at gradient map ≤ 1e-5, so its distance to the optimum is ≤ 1e-5/λ₂ per entry in
// theory; entries of W and b must agree within 3e-4 + 1e-3·|ref| (measured: ≤ 5e-5 for |W| ≤ 1.2), and the GPU objective
// within 1e-5 of the reference's.
import { beforeAll, describe, expect, test } from 'vitest';
import { nodeGpu } from '../src/gpu/node';
import type { Runtime } from '../src/gpu/runtime';
import { runtimeFor } from '../src/engine/model';
import { fitLogistic, logisticPredict } from '../src/engine/fit';
import { logisticObjective, referenceLogistic, standardized } from './reference/fit';
import { expectClose } from './helpers/close';
import { clusters, flat } from './helpers/fit-data';

describe('logistic regression on the GPU', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = runtimeFor(await nodeGpu());
  });

  test.each([
    ['L2', 1e-2, 0],
    ['elastic net', 1e-2, 2e-2],
  ])('%s: same optimum as the float64 reference', async (_, l2, l1) => {
    // 21 features and 5 classes: partial 4 × 4 register blocks in the products.
    const { X, y } = clusters(401, 21, 5, 1, 2.5);
    const gpu = await fitLogistic(rt, X, y, { l2, l1, tol: 1e-5 });
    const ref = referenceLogistic(X, y, 5, { l2, l1, tol: 1e-10 });
    expect(gpu.converged).toBe(true);
    expect(gpu.gradMap).toBeLessThanOrEqual(1e-5);
    expectClose('mean', gpu.mean, ref.mean, 1e-5, 1e-5);
    expectClose('scale', gpu.scale, ref.scale, 1e-5, 1e-4);
    expectClose('W', gpu.W, ref.W, 3e-4, 1e-3);
    expectClose('b', gpu.b, ref.b, 3e-4, 1e-3);
    const { Z } = standardized(X, 'std');
    const fGpu = logisticObjective(Z, y, 5, gpu.W, gpu.b, l2, l1);
    const fRef = logisticObjective(Z, y, 5, ref.W, ref.b, l2, l1);
    expect(fGpu - fRef).toBeLessThanOrEqual(1e-5);
    if (l1 > 0) {
      // The lasso part zeroes weights exactly, where the reference does (away from the threshold's edge).
      const zeros = Array.from(ref.W).filter((v) => v === 0).length;
      expect(zeros).toBeGreaterThan(0);
      for (let e = 0; e < ref.W.length; e++) if (ref.W[e] === 0 && gpu.W[e] !== 0) expect(Math.abs(gpu.W[e])).toBeLessThan(2e-3);
    }
    // The probe as used (raw rows in, a class out) picks the reference's class on every row.
    const refClass = (i: number) => {
      const s = Array.from({ length: 5 }, (_, c) => Z[i].reduce((a, z, j) => a + z * ref.W[j * 5 + c], ref.b[c]));
      return s.indexOf(Math.max(...s));
    };
    expect(X.map((x) => logisticPredict(gpu, x))).toEqual(X.map((_, i) => refClass(i)));
  });

  test('a matrix already in a GPU buffer gives the same fit as host rows', async () => {
    const { X, y } = clusters(200, 12, 3, 2, 2);
    const host = await fitLogistic(rt, X, y, { tol: 1e-5 });
    const buf = rt.createStatic(flat(X));
    const gpu = await fitLogistic(rt, { buf, rows: 200, cols: 12 }, y, { tol: 1e-5 });
    buf.destroy();
    expect(Array.from(gpu.W)).toEqual(Array.from(host.W));
    expect(gpu.iterations).toBe(host.iterations);
  });

  test('hitting the iteration cap is an error, or a fit that says converged: false', async () => {
    const { X, y } = clusters(200, 12, 3, 3, 2);
    await expect(fitLogistic(rt, X, y, { l2: 1e-4, tol: 1e-7, maxIter: 10, checkEvery: 5 })).rejects.toThrow(/did not converge in 10 iterations/);
    const f = await fitLogistic(rt, X, y, { l2: 1e-4, tol: 1e-7, maxIter: 10, checkEvery: 5, allowUnconverged: true });
    expect(f.converged).toBe(false);
    expect(f.iterations).toBe(10);
    expect(f.gradMap).toBeGreaterThan(1e-7);
  });

  test('bad input is refused with the problem named', async () => {
    const { X, y } = clusters(60, 6, 3, 4);
    await expect(fitLogistic(rt, X, y, { classes: 4 })).rejects.toThrow(/class 3 has no examples/);
    await expect(fitLogistic(rt, X, y.map((c) => (c === 2 ? 7 : c)), { classes: 3 })).rejects.toThrow(/label 7 is out of range/);
    await expect(fitLogistic(rt, X, y.slice(1))).rejects.toThrow(/59 labels for 60 rows/);
    await expect(fitLogistic(rt, X, y.map(() => 0))).rejects.toThrow(/at least 2 classes/);
    await expect(fitLogistic(rt, X, y.map((c) => c + 0.5))).rejects.toThrow(/not a class index/);
    const bad = X.map((r) => Float32Array.from(r));
    bad[5][2] = NaN;
    await expect(fitLogistic(rt, bad, y)).rejects.toThrow(/entry \(5, 2\) is NaN/);
    // In a GPU buffer the NaN is found by the column moments kernel.
    const flatBad = flat(bad);
    const buf = rt.createStatic(flatBad);
    await expect(fitLogistic(rt, { buf, rows: 60, cols: 6 }, y)).rejects.toThrow(/column 2 holds NaN or infinite values/);
    flatBad[5 * 6 + 2] = Infinity;
    rt.write(buf, flatBad);
    await expect(fitLogistic(rt, { buf, rows: 60, cols: 6 }, y)).rejects.toThrow(/column 2 holds NaN or infinite values/);
    await expect(fitLogistic(rt, { buf, rows: 600, cols: 6 }, y)).rejects.toThrow(/buffer holds/);
    buf.destroy();
    await expect(fitLogistic(rt, [], [])).rejects.toThrow(/empty matrix/);
    await expect(fitLogistic(rt, X, y, { l2: -1 })).rejects.toThrow(/penalties must be ≥ 0/);
  });
});
