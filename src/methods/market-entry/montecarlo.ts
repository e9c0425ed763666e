// GPU Monte Carlo driver: samples designs, factorises XᵀX + NλI and reduces the per-seed statistics of
// mc-request.ts with the kernels in src/shaders/ridge.wgsl. Takes a GPUDevice (or Gpu), so it runs in the browser and
// in Node alike. Gaussian draws are generated on the GPU from a counter-based hash: nothing of size N·P crosses the
// bus, and a draw depends only on (seed, seed index, row, column), so batching does not change results.

import type { Gpu } from '../../gpu/device';
import { RIDGE_WGSL } from './kernels';
import { combine, validateMcRequest, type McEstimate, type McRequest, type SeedStats } from './mc-request';
import { exactSpectrum } from './model';

const ENTRIES = ['sample', 'row_weights', 'gram', 'assemble', 'cholesky', 'inverse_score', 'hetero'] as const;
type Entry = (typeof ENTRIES)[number];

interface Kernels {
  layout: GPUBindGroupLayout;
  pipes: Record<Entry, GPUComputePipeline>;
}

const cache = new WeakMap<GPUDevice, Promise<Kernels>>();

async function kernels(device: GPUDevice): Promise<Kernels> {
  let k = cache.get(device);
  if (!k) {
    k = build(device);
    cache.set(device, k);
  }
  return k;
}

async function build(device: GPUDevice): Promise<Kernels> {
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ code: RIDGE_WGSL, label: 'ridge.wgsl' });
  const info = await module.getCompilationInfo();
  const errors = info.messages.filter((m) => m.type === 'error');
  if (errors.length) throw new Error(`ridge.wgsl: ${errors.map((e) => `${e.lineNum}:${e.linePos} ${e.message}`).join('; ')}`);
  const storage = (binding: number, type: GPUBufferBindingType): GPUBindGroupLayoutEntry => ({
    binding,
    visibility: GPUShaderStage.COMPUTE,
    buffer: { type },
  });
  const layout = device.createBindGroupLayout({
    entries: [storage(0, 'uniform'), storage(1, 'read-only-storage'), ...[2, 3, 4, 5, 6, 7].map((b) => storage(b, 'storage'))],
  });
  const pipelineLayout = device.createPipelineLayout({ bindGroupLayouts: [layout] });
  const pipes = {} as Record<Entry, GPUComputePipeline>;
  for (const e of ENTRIES) pipes[e] = device.createComputePipeline({ layout: pipelineLayout, compute: { module, entryPoint: e } });
  const err = await device.popErrorScope();
  if (err) throw new Error(`ridge.wgsl pipelines: ${err.message}`);
  return { layout, pipes };
}

const deviceOf = (g: GPUDevice | Gpu): GPUDevice => ('device' in g ? g.device : g);

/** Largest seed batch whose buffers fit the device's binding limit (and ≤ 256 MiB for X). */
function batchSize(device: GPUDevice, req: McRequest): number {
  const lim = Math.min(device.limits.maxStorageBufferBindingSize, 256 * 2 ** 20);
  const perSeed = Math.max(req.N * req.P, 2 * req.P * req.P, req.lambdas.length * 4 * req.P) * 4;
  const s = Math.floor(lim / perSeed);
  if (s < 1) throw new RangeError(`market-entry Monte Carlo: N = ${req.N}, P = ${req.P} do not fit the device's buffer limit`);
  return Math.min(req.seeds, s, 65535);
}

function dispatch1d(pass: GPUComputePassEncoder, groups: number): void {
  const x = Math.min(groups, 65535);
  pass.dispatchWorkgroups(x, Math.ceil(groups / x));
}

export interface McRun {
  estimates: McEstimate[];
  /** wall time of the GPU work, ms */
  ms: number;
}

export async function runMonteCarlo(gpu: GPUDevice | Gpu, req: McRequest): Promise<McRun> {
  validateMcRequest(req);
  if (req.P % 4 !== 0) throw new RangeError(`market-entry Monte Carlo: the GPU kernels need P divisible by 4 (got ${req.P})`);
  const device = deviceOf(gpu);
  const k = await kernels(device);
  const t0 = performance.now();
  const { P, N } = req;
  const seed = (req.seed ?? 1) >>> 0;
  const { lam, m } = exactSpectrum(P, req.gamma, req.delta);
  let S = 0;
  for (let i = 0; i < P; i++) S += lam[i] * m[i];
  const perSeed: SeedStats[][] = req.lambdas.map(() => []);
  const specBuf = device.createBuffer({ size: 8 * P, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(specBuf, 0, new Float32Array([...lam, ...m]));
  const B = batchSize(device, req);
  for (let off = 0; off < req.seeds; off += B) {
    const Sb = Math.min(B, req.seeds - off);
    const stride = Sb * 4 * P; // floats of output per λ: (f₁, f₂, f₄) per column, then f₃ per index
    const make = (floats: number, extra = 0) =>
      device.createBuffer({ size: Math.max(16, floats * 4), usage: GPUBufferUsage.STORAGE | extra });
    const X = make(Sb * N * P);
    const G = make(2 * Sb * P * P);
    const rowW = make(Sb * N);
    const A = make(Sb * P * P);
    const Wb = make(Sb * P * P);
    const score = make(stride * req.lambdas.length, GPUBufferUsage.COPY_SRC);
    const read = device.createBuffer({ size: score.size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const groups = req.lambdas.map((lambda, li) => {
      const u = new ArrayBuffer(48);
      new Uint32Array(u, 0, 8).set([Sb, N, P, seed, off, li * stride, 0, 0]);
      new Float32Array(u, 32, 4).set([N * lambda, 0, 0, 0]);
      const ub = device.createBuffer({ size: 48, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
      device.queue.writeBuffer(ub, 0, u);
      const entries = [ub, specBuf, X, G, A, Wb, score, rowW].map((buffer, binding) => ({ binding, resource: { buffer } }));
      return { ub, bg: device.createBindGroup({ layout: k.layout, entries }) };
    });
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setBindGroup(0, groups[0].bg);
    pass.setPipeline(k.pipes.sample);
    dispatch1d(pass, Math.ceil((Sb * N * P) / 256));
    pass.setPipeline(k.pipes.row_weights);
    pass.dispatchWorkgroups(Math.ceil((Sb * N) / 64));
    pass.setPipeline(k.pipes.gram);
    pass.dispatchWorkgroups(Math.ceil((Sb * (P / 4) * (P / 4 + 1)) / 2 / 64));
    for (const g of groups) {
      pass.setBindGroup(0, g.bg);
      pass.setPipeline(k.pipes.assemble);
      dispatch1d(pass, Math.ceil((Sb * P * P) / 256));
      pass.setPipeline(k.pipes.cholesky);
      pass.dispatchWorkgroups(Sb);
      pass.setPipeline(k.pipes.inverse_score);
      pass.dispatchWorkgroups(Math.ceil((Sb * P) / 64));
      pass.setPipeline(k.pipes.hetero);
      pass.dispatchWorkgroups(Math.ceil((Sb * P) / 64));
    }
    pass.end();
    enc.copyBufferToBuffer(score, 0, read, 0, score.size);
    device.queue.submit([enc.finish()]);
    await read.mapAsync(GPUMapMode.READ);
    const out = new Float32Array(read.getMappedRange().slice(0));
    read.unmap();
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
    for (const b of [X, G, rowW, A, Wb, score, read, ...groups.map((g) => g.ub)]) b.destroy();
  }
  specBuf.destroy();
  return { estimates: combine(req, S, perSeed), ms: performance.now() - t0 };
}
