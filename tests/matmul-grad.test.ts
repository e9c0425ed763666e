// The backward's matmuls against a float64 reference: matmul.wgsl's `wt` kernel (dA = β·dA + dC·W, the input
// gradient of an f32 linear) and the 4x4-tiled strided matmul (transposed, offset and sliced operands, α, β),
// on ragged sizes that leave partial tiles. Tolerance: tests/helpers/close.ts's f32 default,
// |got - want| ≤ 2e-4 + 2e-4·|want|, for inner dimensions ≤ 172 with unit-variance inputs.
import { beforeAll, describe, test } from 'vitest';
import { nodeGpu } from '../src/gpu/node';
import { Pass, type Runtime } from '../src/gpu/runtime';
import { runtimeFor } from '../src/engine/model';
import { matmulStrided, matmulWt } from '../src/engine/grad-ops';
import { gaussian } from './fixtures/tiny-models';
import { expectClose } from './helpers/close';

function randn(n: number, seed: number, std = 1): Float32Array {
  const g = gaussian(seed);
  return Float32Array.from({ length: n }, () => std * g());
}

describe('backward matmuls', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = runtimeFor(await nodeGpu());
  });

  // [M, K, N]: K, N multiples of 4 take the vec4 kernel; 62 and 30 fall back to the strided one.
  test.each([
    [64, 64, 172],
    [9, 172, 64],
    [1, 8, 4],
    [17, 128, 844],
    [5, 62, 12],
    [6, 16, 30],
  ])('M=%i K=%i N=%i: dA = β·dA + dC·W', async (M, K, N) => {
    const W = randn(N * K, 1, 0.1);
    const dC = randn(M * N, 2);
    const dA0 = randn(M * K, 3);
    const want = new Float64Array(M * K);
    for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) want[m * K + k] += dC[m * N + n] * W[n * K + k];
    const pass = new Pass(rt);
    const [dCb, Wb] = [rt.createStatic(dC), rt.createStatic(W)];
    const set = pass.scratchBuffer(M * K * 4);
    const add = rt.createStatic(dA0);
    matmulWt(pass, M, K, N, dCb, Wb, set, 0);
    matmulWt(pass, M, K, N, dCb, Wb, add, 1);
    const gotSet = pass.read(set, M * K * 4);
    const gotAdd = pass.read(add, M * K * 4);
    await pass.submit();
    expectClose('dA (β = 0)', await gotSet, want);
    expectClose('dA (β = 1)', await gotAdd, want.map((v, i) => v + dA0[i]));
  });

  test.each([
    [64, 64, 64],
    [13, 7, 30],
    [3, 37, 5],
  ])('M=%i N=%i K=%i: strided C = β·C + α·Aᵀ·B into a column slice', async (M, N, K) => {
    // A stored transposed [K, M] after 3 floats; B [K, N] rows padded to N + 2; C columns 4.. of [M, N + 6].
    const A = randn(3 + K * M, 4);
    const B = randn(K * (N + 2), 5);
    const C0 = randn(M * (N + 6), 6);
    const [alpha, beta] = [0.5, 1];
    const want = Float64Array.from(C0);
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += A[3 + k * M + m] * B[k * (N + 2) + n];
        want[m * (N + 6) + 4 + n] = beta * C0[m * (N + 6) + 4 + n] + alpha * s;
      }
    }
    const pass = new Pass(rt);
    const Cb = rt.createStatic(C0);
    matmulStrided(pass, M, N, K, { buf: rt.createStatic(A), offset: 3, rows: 1, cols: M }, { buf: rt.createStatic(B), rows: N + 2, cols: 1 }, { buf: Cb, offset: 4, rows: N + 6, cols: 1 }, alpha, beta);
    const got = pass.read(Cb, C0.length * 4);
    await pass.submit();
    expectClose('C', await got, want);
  });
});
