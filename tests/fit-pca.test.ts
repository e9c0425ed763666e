// Randomized top-k SVD and PCA on the GPU (src/engine/fit/pca.ts) against the float64 one-sided Jacobi SVD
// (tests/reference/fit.ts). Tolerance (f32 products, 4 power iterations, spectra with gaps ≥ 1.3×): singular values
// within 1e-4 relative; singular vectors (up to sign) within 1e-3 per entry.
import { beforeAll, describe, expect, test } from 'vitest';
import { nodeGpu } from '../src/gpu/node';
import type { Runtime } from '../src/gpu/runtime';
import { runtimeFor } from '../src/engine/model';
import { pca, topSvd } from '../src/engine/fit';
import { jacobiSvdColumns, standardized } from './reference/fit';
import { expectClose } from './helpers/close';
import { gaussian } from './fixtures/tiny-models';
import { flat } from './helpers/fit-data';

/** n × d rows with singular values decaying by `decay` (plus an offset per column). */
function lowRankish(n: number, d: number, seed: number, decay = 0.7, rank = d): Float32Array[] {
  const g = gaussian(seed);
  const r = Math.min(rank, d);
  const U = Array.from({ length: r }, () => Float64Array.from({ length: n }, () => g()));
  const V = Array.from({ length: r }, () => Float64Array.from({ length: d }, () => g()));
  return Array.from({ length: n }, (_, i) => Float32Array.from({ length: d }, (_, j) => {
    let s = 3 + j * 0.1;
    for (let q = 0; q < r; q++) s += 10 * decay ** q * U[q][i] * V[q][j];
    return s;
  }));
}

const columnsOf = (X: ArrayLike<number>[]) => Array.from({ length: X[0].length }, (_, j) => Float64Array.from(X, (r) => r[j]));

function sameUpToSign(name: string, got: ArrayLike<number>, want: ArrayLike<number>, atol: number): void {
  let dot = 0;
  for (let i = 0; i < want.length; i++) dot += got[i] * want[i];
  const s = Math.sign(dot) || 1;
  expectClose(name, Array.from(got, (v) => v * s), want, atol, 0);
}

describe('randomized SVD and PCA on the GPU', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = runtimeFor(await nodeGpu());
  });

  test('top-k singular values and both sides of vectors match Jacobi', async () => {
    const X = lowRankish(200, 40, 1);
    const k = 5;
    const got = await topSvd(rt, X, k, { withU: true, seed: 3 });
    const ref = jacobiSvdColumns(columnsOf(X)); // columns of X: U are length n, V length d
    expectClose('S', got.S, ref.S.slice(0, k), 0, 1e-4);
    for (let j = 0; j < k; j++) {
      sameUpToSign(`V[${j}]`, got.V[j], ref.V[j], 1e-3);
      sameUpToSign(`U[${j}]`, got.U![j], ref.U[j], 1e-3);
    }
  });

  test('PCA: mean, axes, variances and explained ratios of the centred matrix', async () => {
    const X = lowRankish(150, 24, 2, 0.6);
    const buf = rt.createStatic(flat(X));
    const got = await pca(rt, { buf, rows: 150, cols: 24 }, 4);
    buf.destroy();
    const { Z, mean } = standardized(X, 'none');
    const ref = jacobiSvdColumns(columnsOf(Z));
    expectClose('mean', got.mean, mean, 1e-5, 1e-5);
    expectClose('singular values', got.singularValues, ref.S.slice(0, 4), 0, 1e-4);
    const total = ref.S.reduce((a, s) => a + s * s, 0);
    expectClose('ratio', got.ratio, ref.S.slice(0, 4).map((s) => (s * s) / total), 1e-5, 1e-4);
    expectClose('variance', got.variance, ref.S.slice(0, 4).map((s) => (s * s) / 149), 0, 1e-4);
    for (let j = 0; j < 4; j++) sameUpToSign(`axis ${j}`, got.components[j], ref.V[j], 1e-3);
  });

  test('a matrix of rank below k + oversampling keeps only its rank', async () => {
    const X = lowRankish(60, 30, 3, 0.8, 3).map((r) => r.map((v, j) => v - 3 - j * 0.1));
    const got = await topSvd(rt, X, 6);
    expect(got.S.length).toBe(3);
    const ref = jacobiSvdColumns(columnsOf(X));
    expectClose('S', got.S, ref.S.slice(0, 3), 0, 1e-4);
  });

  test('bad input is refused with the problem named', async () => {
    const X = lowRankish(10, 6, 4);
    await expect(topSvd(rt, X, 7)).rejects.toThrow(/k = 7 exceeds min\(rows, cols\) = 6/);
    await expect(topSvd(rt, X, 0)).rejects.toThrow(/k = 0 must be a positive integer/);
    await expect(pca(rt, X, 10)).rejects.toThrow(/k = 10 exceeds min\(rows − 1, cols\) = 6/);
    await expect(pca(rt, [X[0]], 1)).rejects.toThrow(/at least 2 rows/);
    await expect(topSvd(rt, X.map((r) => r.map(() => 0)), 2)).rejects.toThrow(/the matrix is zero/);
    const bad = flat(X);
    bad[13] = NaN;
    const buf = rt.createStatic(bad);
    await expect(topSvd(rt, { buf, rows: 10, cols: 6 }, 2)).rejects.toThrow(/column 1 holds NaN/);
    buf.destroy();
  });
});
