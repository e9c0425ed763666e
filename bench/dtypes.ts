// `node --import ./bin/register.js bench/matmul-quant.ts`: GFLOP/s of the linear kernel with f32, q8 and q4
// weights (shaders/matmul.wgsl vs shaders/matmul-quant.wgsl) at decode (M = 1) and prefill (M = 64) sizes,
// and stories260K / bench-llama forward times per dtype. Medians after warm-up, on whatever adapter Dawn gives.
import { describeAdapter } from '../src/gpu/device';
import { closeGpu, nodeGpu } from '../src/gpu/node';
import { Pass } from '../src/gpu/runtime';
import { Model, runtimeFor } from '../src/engine/model';
import { folderFiles } from '../src/engine/files-node';
import { linear } from '../src/engine/ops';
import { uploadMatrix } from '../src/engine/packed-weights';
import type { WeightDtype } from '../src/engine/quant';
import { STORIES } from './report';
import { writeTinyModel } from '../tests/fixtures/tiny-models';

/** Median ms of `reps` runs after one warm-up. */
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

const gpu = await nodeGpu();
const rt = runtimeFor(gpu);
console.log(`adapter: ${describeAdapter(gpu)}`);
const shapes = (process.env.SHAPES ?? '1x1024x1024,64x1024x1024,1x4096x4096').split(',').map((s) => s.split('x').map(Number));
const inner = 8;
for (const [M, K, N] of shapes) {
  const A = rt.createStatic(new Float32Array(M * K).map((_, i) => Math.sin(i)));
  const w = new Float32Array(N * K).map((_, i) => Math.cos(i * 0.37));
  const C = rt.take(M * N * 4);
  const row: string[] = [];
  for (const dt of ['f32', 'q8', 'q4'] as WeightDtype[]) {
    const up = uploadMatrix(rt, w, N, K, dt, gpu.limits.maxStorageBufferBindingSize, dt);
    const ms = await timeIt(async () => {
      const pass = new Pass(rt);
      for (let i = 0; i < inner; i++) linear(pass, { A, M, K, W: up.handle, N, C });
      await pass.submit();
    }, 5);
    row.push(`${dt} ${((2 * M * K * N * inner) / ms / 1e6).toFixed(2)} GFLOP/s (${(up.bytes / (N * K)).toFixed(3)} B/param)`);
    up.buffers.forEach((b) => b.destroy());
  }
  console.log(`${M}x${K}x${N}: ${row.join(', ')}`);
  A.destroy();
  rt.release(C);
}
for (const [name, dir] of [['stories260K', STORIES], ['bench-llama', writeTinyModel('bench-llama')]]) {
  const row: string[] = [];
  for (const dt of ['f32', 'q8', 'q4'] as WeightDtype[]) {
    const m = await Model.load(gpu, folderFiles(dir), { dtype: dt });
    const ids = Array.from({ length: 64 }, (_, i) => (i * 7 + 1) % m.config.vocab);
    const t64 = await timeIt(async () => void (await m.forward(ids)), 5);
    const t1 = await timeIt(async () => void (await m.forward([1])), 5);
    row.push(`${dt} T=1 ${t1.toFixed(1)} ms, T=64 ${t64.toFixed(1)} ms, ${(m.weightBytes / 2 ** 20).toFixed(2)} MiB`);
    m.dispose();
  }
  console.log(`${name}: ${row.join('; ')}`);
}
await closeGpu();
process.exit(0);
