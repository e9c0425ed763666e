// Orthogonal matching pursuit on the GPU (src/engine/fit/omp.ts, shaders/omp.wgsl) against float64 OMP
// (tests/reference/fit.ts). Tolerance (f32 correlations and Gram rows over ≤ 300 rows): the same support in the
// same order, coefficients within 1e-4 + 1e-3·|ref| of the largest, the intercept likewise.
import { beforeAll, describe, expect, test } from 'vitest';
import { nodeGpu } from '../src/gpu/node';
import type { Runtime } from '../src/gpu/runtime';
import { runtimeFor } from '../src/engine/model';
import { omp } from '../src/engine/fit';
import { referenceOmp } from './reference/fit';
import { expectClose } from './helpers/close';
import { clusters, flat } from './helpers/fit-data';
import { gaussian } from './fixtures/tiny-models';

function sparseTarget(X: Float32Array[], support: number[], seed: number, noise = 0.05): number[] {
  const g = gaussian(seed);
  const w = support.map((_, q) => (q % 2 ? -1 : 1) * (1 + q));
  return X.map((x) => support.reduce((s, j, q) => s + w[q] * x[j], 2) + noise * g());
}

describe('orthogonal matching pursuit on the GPU', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = runtimeFor(await nodeGpu());
  });

  test('recovers a sparse probe and matches float64 OMP step by step', async () => {
    const { X } = clusters(300, 30, 3, 1, 3);
    const y = sparseTarget(X, [4, 17, 25], 2);
    const got = await omp(rt, X, y, 5);
    const ref = referenceOmp(X, y, 5);
    expect(got.support).toEqual(ref.support);
    expect([...got.support.slice(0, 3)].sort((a, b) => a - b)).toEqual([4, 17, 25]);
    const s = Math.max(...Array.from(ref.coef).map(Math.abs));
    expectClose('coef', got.coef.map((v) => v / s), ref.coef.map((v) => v / s), 1e-4, 1e-3);
    expectClose('intercept', [got.intercept / s], [ref.intercept / s], 1e-3, 1e-3);
    expect(got.stopped).toBe('k');
    expect(got.residual.length).toBe(5);
    for (let i = 1; i < 5; i++) expect(got.residual[i]).toBeLessThanOrEqual(got.residual[i - 1] + 1e-7);
  });

  test('stops early at the tolerance; input already on the GPU', async () => {
    const { X } = clusters(200, 12, 2, 3, 3);
    const y = sparseTarget(X, [2, 9], 4, 0.001);
    const buf = rt.createStatic(flat(X));
    const got = await omp(rt, { buf, rows: 200, cols: 12 }, y, 6, { tol: 1e-4 });
    buf.destroy();
    expect(got.stopped).toBe('tol');
    expect([...got.support].sort((a, b) => a - b)).toEqual([2, 9]);
  });

  test('bad input is refused with the problem named', async () => {
    const { X } = clusters(20, 5, 2, 5);
    const y = X.map((x) => x[0]);
    await expect(omp(rt, X, y, 6)).rejects.toThrow(/k = 6 exceeds min\(rows − 1, cols\) = 5/);
    await expect(omp(rt, X, y.slice(1), 2)).rejects.toThrow(/19 targets for 20 rows/);
    await expect(omp(rt, X, y.map(() => 3), 2)).rejects.toThrow(/target is constant/);
    await expect(omp(rt, X, y.map((v, i) => (i ? v : NaN)), 2)).rejects.toThrow(/target 0 is NaN/);
    await expect(omp(rt, X, y, 2, { tol: 1 })).rejects.toThrow(/tol = 1 must be in \[0, 1\)/);
  });
});
