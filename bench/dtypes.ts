// Weight dtypes in `npm run bench`: linear GFLOP/s with f32 weights (shaders/matmul.wgsl) next to f16, q8 and
// q4 (shaders/matmul-quant.wgsl) on the same shapes, and per model the resident weight bytes per parameter
// and forward times by dtype. Medians after a warm-up.
import type { Gpu } from '../src/gpu/device';
import { Pass, type Runtime } from '../src/gpu/runtime';
import { Model } from '../src/engine/model';
import type { ModelFiles } from '../src/engine/files';
import { linear } from '../src/engine/ops';
import { uploadMatrix } from '../src/engine/packed-weights';
import type { WeightDtype } from '../src/engine/quant';

export const DTYPES: WeightDtype[] = ['f32', 'f16', 'q8', 'q4'];

export interface DtypeMatmulFigure {
  shape: string;
  gflops: Record<WeightDtype, number>;
  /** Bytes per weight of the matrix as uploaded. */
  bytesPerParam: Record<WeightDtype, number>;
}

export interface DtypeModelFigure {
  model: string;
  dtype: WeightDtype;
  weightMiB: number;
  /** Resident weight bytes over parameters (norms stay f32; q4 keeps the embedding / lm_head at q8). */
  bytesPerParam: number;
  t1Ms: number;
  t64Ms: number;
}

async function timeIt(fn: () => Promise<void>, reps: number): Promise<number> {
  await fn();
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  return ms.sort((a, b) => a - b)[Math.floor(reps / 2)];
}

const SHAPES: [number, number, number][] = [
  [1, 1024, 1024],
  [64, 256, 688],
  [64, 1024, 1024],
  [1, 4096, 4096],
];

export async function dtypeMatmulFigures(rt: Runtime, reps = 5, inner = 8): Promise<DtypeMatmulFigure[]> {
  const out: DtypeMatmulFigure[] = [];
  const maxBinding = rt.gpu.limits.maxStorageBufferBindingSize;
  for (const [M, K, N] of SHAPES) {
    const A = rt.createStatic(new Float32Array(M * K).map((_, i) => Math.sin(i)));
    const w = new Float32Array(N * K).map((_, i) => Math.cos(i * 0.37));
    const C = rt.take(M * N * 4);
    const fig: DtypeMatmulFigure = { shape: `${M}x${K}x${N}`, gflops: {} as never, bytesPerParam: {} as never };
    for (const dt of DTYPES) {
      const up = uploadMatrix(rt, w, N, K, dt, maxBinding, dt);
      const ms = await timeIt(async () => {
        const pass = new Pass(rt);
        for (let i = 0; i < inner; i++) linear(pass, { A, M, K, W: up.handle, N, C });
        await pass.submit();
      }, reps);
      fig.gflops[dt] = (2 * M * K * N * inner) / ms / 1e6;
      fig.bytesPerParam[dt] = up.bytes / (N * K);
      up.buffers.forEach((b) => b.destroy());
    }
    out.push(fig);
    A.destroy();
    rt.release(C);
  }
  return out;
}

export async function dtypeModelFigures(gpu: Gpu, name: string, files: () => ModelFiles, reps = 5): Promise<DtypeModelFigure[]> {
  const out: DtypeModelFigure[] = [];
  for (const dtype of DTYPES) {
    const m = await Model.load(gpu, files(), { dtype });
    const ids = Array.from({ length: 64 }, (_, i) => (i * 7 + 1) % m.config.vocab);
    const t64Ms = await timeIt(async () => void (await m.forward(ids)), reps);
    const t1Ms = await timeIt(async () => void (await m.forward([1])), reps);
    out.push({ model: name, dtype, weightMiB: m.weightBytes / 2 ** 20, bytesPerParam: m.weightBytes / m.plan.params, t1Ms, t64Ms });
    m.dispose();
  }
  return out;
}

export function printDtypeFigures(where: string, matmul: DtypeMatmulFigure[], models: DtypeModelFigure[]): void {
  console.log(`\n== ${where} — weight dtypes`);
  console.log(`linear M×K×N        ${DTYPES.map((d) => `${d} GFLOP/s`.padStart(13)).join('')}   bytes/param ${DTYPES.join(' / ')}`);
  for (const f of matmul) {
    console.log(`  ${f.shape.padEnd(18)} ${DTYPES.map((d) => f.gflops[d].toFixed(2).padStart(13)).join('')}   ${DTYPES.map((d) => f.bytesPerParam[d].toFixed(3)).join(' / ')}`);
  }
  if (!models.length) return;
  console.log('model                                 dtype  weights MiB  bytes/param  T=1 ms  T=64 ms');
  for (const f of models) {
    console.log(`  ${f.model.padEnd(36)} ${f.dtype.padEnd(5)} ${f.weightMiB.toFixed(2).padStart(12)} ${f.bytesPerParam.toFixed(3).padStart(12)} ${f.t1Ms.toFixed(1).padStart(7)} ${f.t64Ms.toFixed(1).padStart(8)}`);
  }
}
