// Ridge / least squares on the GPU (src/engine/fit/ridge.ts: matmul-strided.wgsl Gram + ridge.wgsl Cholesky) against
// the float64 normal equations (tests/reference/fit.ts). Tolerance (f32 Cholesky of a standardised Gram with
// condition ≲ 10³): coefficients within 1e-3 + 1e-3·|ref| (relative to the coefficient scale), predictions within 1e-3.
import { beforeAll, describe, expect, test } from 'vitest';
import { nodeGpu } from '../src/gpu/node';
import type { Runtime } from '../src/gpu/runtime';
import { runtimeFor } from '../src/engine/model';
import { fitRidge } from '../src/engine/fit';
import { referenceRidge } from './reference/fit';
import { expectClose } from './helpers/close';
import { clusters, flat } from './helpers/fit-data';
import { gaussian } from './fixtures/tiny-models';

function regression(n: number, d: number, seed: number): { X: Float32Array[]; y: number[][]; w: Float64Array[] } {
  const { X } = clusters(n, d, 3, seed);
  const g = gaussian(seed + 100);
  const w = [0, 1].map(() => Float64Array.from({ length: d }, () => g()));
  const y = X.map((x) => w.map((wt) => x.reduce((s, v, j) => s + v * wt[j], 3) + 0.1 * g()));
  return { X, y, w };
}

describe('ridge regression on the GPU', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = runtimeFor(await nodeGpu());
  });

  test.each([
    ['ridge', 5, true],
    ['least squares', 0, true],
    ['ridge on raw columns', 2, false],
  ])('%s (λ = %d): coefficients and intercepts of two targets match float64', async (_, lambda, std) => {
    const { X, y } = regression(300, 17, 1);
    const fit = await fitRidge(rt, X, y, { lambda, standardize: std });
    for (const t of [0, 1]) {
      const ref = referenceRidge(X, y.map((r) => r[t]), lambda, std ? 'std' : 'none');
      const s = Math.max(...Array.from(ref.coef).map(Math.abs));
      expectClose(`coef[${t}]`, fit.coef[t].map((v) => v / s), ref.coef.map((v) => v / s), 1e-3, 1e-3);
      const pred = (c: ArrayLike<number>, b: number, x: ArrayLike<number>) => Array.from(x).reduce((a, v, j) => a + v * c[j], b);
      const py = Math.max(...y.map((r) => Math.abs(r[t])));
      expectClose(`predictions[${t}]`, X.map((x) => pred(fit.coef[t], fit.intercept[t], x) / py), X.map((x) => pred(ref.coef, ref.intercept, x) / py), 1e-3, 0);
    }
  });

  test('one target as a plain array, matrix from a GPU buffer', async () => {
    const { X, y } = regression(120, 8, 2);
    const target = y.map((r) => r[0]);
    const buf = rt.createStatic(flat(X));
    const fit = await fitRidge(rt, { buf, rows: 120, cols: 8 }, target, { lambda: 1 });
    buf.destroy();
    const ref = referenceRidge(X, target, 1);
    const s = Math.max(...Array.from(ref.coef).map(Math.abs));
    expectClose('coef', fit.coef[0].map((v) => v / s), ref.coef.map((v) => v / s), 1e-3, 1e-3);
  });

  test('singular systems and bad input are errors, not answers', async () => {
    const { X, y } = regression(50, 6, 3);
    const t = y.map((r) => r[0]);
    const dup = X.map((x) => Float32Array.from([...x, x[0] * 2 + x[1]]));
    await expect(fitRidge(rt, dup, t, { lambda: 0 })).rejects.toThrow(/singular to f32 precision at column 6/);
    await fitRidge(rt, dup, t, { lambda: 1 }); // a penalty makes it well posed
    const constant = X.map((x) => Float32Array.from([...x, 4]));
    await expect(fitRidge(rt, constant, t, { lambda: 0 })).rejects.toThrow(/column 6 is constant/);
    await expect(fitRidge(rt, X, t.slice(2))).rejects.toThrow(/48 target rows for 50 input rows/);
    await expect(fitRidge(rt, X, t.map((v, i) => (i === 3 ? NaN : v)))).rejects.toThrow(/ridge targets: entry \(3, 0\) is NaN/);
    await expect(fitRidge(rt, X, t, { lambda: -1 })).rejects.toThrow(/λ = -1 must be ≥ 0/);
    await expect(fitRidge(rt, [X[0]], [1])).rejects.toThrow(/at least 2 rows/);
  });
});
