// GPU Monte Carlo driver: samples designs, factorises XᵀX + NλI and reduces the per-seed statistics of
// mc-request.ts with the kernels in src/shaders/ridge.wgsl, recorded on the engine's runtime (gpu/runtime.ts: its
// pipeline cache and one Pass per seed batch), so in the app it runs in the engine worker on the models' device.
// Gaussian draws are generated on the GPU from a counter-based hash: nothing of size N·P crosses the bus, and a draw
// depends only on (seed, seed index, row, column), so batching does not change results.

import type { Gpu } from '../../gpu/device';
import { Pass, Runtime, f32, uniforms } from '../../gpu/runtime';
import { runtimeFor } from '../../engine/model';
import { RIDGE_WGSL } from './kernels';
import { combine, validateMcRequest, type McEstimate, type McRequest, type SeedStats } from './mc-request';
import { exactSpectrum } from './model';

/** Largest seed batch whose buffers fit the device's binding limit (and ≤ 256 MiB for X). */
function batchSize(device: GPUDevice, req: McRequest): number {
  const lim = Math.min(device.limits.maxStorageBufferBindingSize, 256 * 2 ** 20);
  const perSeed = Math.max(req.N * req.P, 2 * req.P * req.P, req.lambdas.length * 4 * req.P) * 4;
  const s = Math.floor(lim / perSeed);
  if (s < 1) throw new RangeError(`market-entry Monte Carlo: N = ${req.N}, P = ${req.P} do not fit the device's buffer limit`);
  return Math.min(req.seeds, s, 65535);
}

/** A 1-D grid of `groups` workgroups as (x, y) within the per-dimension limit. */
function grid(groups: number): [number, number] {
  const x = Math.min(groups, 65535);
  return [x, Math.ceil(groups / x)];
}

export interface McRun {
  estimates: McEstimate[];
  /** wall time of the GPU work, ms */
  ms: number;
}

export async function runMonteCarlo(gpu: Runtime | Gpu, req: McRequest): Promise<McRun> {
  validateMcRequest(req);
  if (req.P % 4 !== 0) throw new RangeError(`market-entry Monte Carlo: the GPU kernels need P divisible by 4 (got ${req.P})`);
  const rt = gpu instanceof Runtime ? gpu : runtimeFor(gpu);
  const pipe = (entry: string) => rt.pipeline('ridge.wgsl', RIDGE_WGSL, entry);
  const t0 = performance.now();
  const { P, N } = req;
  const seed = (req.seed ?? 1) >>> 0;
  const { lam, m } = exactSpectrum(P, req.gamma, req.delta);
  let S = 0;
  for (let i = 0; i < P; i++) S += lam[i] * m[i];
  const perSeed: SeedStats[][] = req.lambdas.map(() => []);
  const specBuf = rt.createStatic(new Float32Array([...lam, ...m]), 'market-entry spectrum');
  try {
    const B = batchSize(rt.device, req);
    for (let off = 0; off < req.seeds; off += B) {
      const Sb = Math.min(B, req.seeds - off);
      const stride = Sb * 4 * P; // floats of output per λ: (f₁, f₂, f₄) per column, then f₃ per index
      // Fresh storage, destroyed when the pass finishes (a batch's X can be 256 MiB: it must not stay in the pool).
      const pass = new Pass(rt);
      const make = (floats: number) => pass.zeroBuffer(floats * 4);
      const [X, G, rowW, A, Wb, score] = [Sb * N * P, 2 * Sb * P * P, Sb * N, Sb * P * P, Sb * P * P, stride * req.lambdas.length].map(make);
      const bind = [specBuf, X, G, A, Wb, score, rowW];
      const u = (li: number, lambda: number) => uniforms(Sb, N, P, seed, off, li * stride, 0, 0, f32(N * lambda), f32(0), f32(0), f32(0));
      pass.dispatch(pipe('sample'), u(0, req.lambdas[0]), bind, grid(Math.ceil((Sb * N * P) / 256)));
      pass.dispatch(pipe('row_weights'), u(0, req.lambdas[0]), bind, [Math.ceil((Sb * N) / 64)]);
      pass.dispatch(pipe('gram'), u(0, req.lambdas[0]), bind, [Math.ceil((Sb * (P / 4) * (P / 4 + 1)) / 2 / 64)]);
      req.lambdas.forEach((lambda, li) => {
        pass.dispatch(pipe('assemble'), u(li, lambda), bind, grid(Math.ceil((Sb * P * P) / 256)));
        pass.dispatch(pipe('cholesky'), u(li, lambda), bind, [Sb]);
        pass.dispatch(pipe('inverse_score'), u(li, lambda), bind, [Math.ceil((Sb * P) / 64)]);
        pass.dispatch(pipe('hetero'), u(li, lambda), bind, [Math.ceil((Sb * P) / 64)]);
      });
      const read = pass.read(score, stride * req.lambdas.length * 4);
      await pass.submit();
      const out = await read;
      req.lambdas.forEach((_, li) => {
        for (let s = 0; s < Sb; s++) {
          const st: SeedStats = { f1: 0, f2: 0, f3: 0, f4: 0 };
          for (let b = 0; b < P; b++) {
            const o = li * stride + (s * P + b) * 3;
            st.f1 += out[o];
            st.f2 += out[o + 1];
            st.f4 += out[o + 2];
          }
          for (let a = 0; a < P; a++) st.f3 += out[li * stride + Sb * P * 3 + s * P + a];
          perSeed[li].push(st);
        }
      });
    }
  } finally {
    specBuf.destroy();
  }
  return { estimates: combine(req, S, perSeed), ms: performance.now() - t0 };
}
