// Benchmark figures shared by the Node and Chromium runners: matmul GFLOP/s (tiled vs naive, same run)
// and forward tokens/s with hooks off and with ten read hooks on. Medians after a warm-up.
import { Pass, type Runtime } from '../src/gpu/runtime';
import { linear, linearNaive } from '../src/engine/ops';
import type { Model } from '../src/engine/model';
import type { HookSpec } from '../src/engine/hooks';
import { FinetuneRun } from '../src/engine/finetune';
import { nextTokenLabels } from '../src/engine/trainer';

export interface MatmulFigure {
  shape: string;
  tiledGflops: number;
  naiveGflops: number;
}

export interface ForwardFigure {
  model: string;
  T: number;
  hooks: number;
  ms: number;
  tokensPerS: number;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function timeIt(fn: () => Promise<void>, reps: number): Promise<number> {
  await fn();
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

const SHAPES: [number, number, number][] = [
  [1, 256, 2048],
  [16, 256, 688],
  [64, 256, 688],
  [64, 688, 256],
  [64, 256, 2048],
  [256, 256, 256],
];

export async function matmulFigures(rt: Runtime, reps = 5, inner = 8): Promise<MatmulFigure[]> {
  const out: MatmulFigure[] = [];
  for (const [M, K, N] of SHAPES) {
    const A = rt.createStatic(new Float32Array(M * K).map((_, i) => Math.sin(i)));
    const W = rt.createStatic(new Float32Array(N * K).map((_, i) => Math.cos(i)));
    const C = rt.take(M * N * 4);
    const run = (naive: boolean) => async () => {
      const pass = new Pass(rt);
      for (let i = 0; i < inner; i++) (naive ? linearNaive : linear)(pass, { A, M, K, W, N, C });
      await pass.submit();
    };
    const flops = 2 * M * K * N * inner;
    const tiled = await timeIt(run(false), reps);
    const naive = await timeIt(run(true), reps);
    out.push({ shape: `${M}x${K}x${N}`, tiledGflops: flops / tiled / 1e6, naiveGflops: flops / naive / 1e6 });
    A.destroy();
    W.destroy();
    rt.release(C);
  }
  return out;
}

/** Ten read hooks spread over the model's layers. */
export function tenReadHooks(nLayers: number): HookSpec[] {
  const kinds = ['hook_resid_pre', 'attn.hook_pattern', 'hook_attn_out', 'mlp.hook_post', 'hook_resid_post'];
  return Array.from({ length: 10 }, (_, i) => ({ name: `blocks.${i % nLayers}.${kinds[i % kinds.length]}`, op: 'read' as const }));
}

export async function forwardFigures(model: Model, name: string, reps = 5, lengths = [1, 16, 64]): Promise<ForwardFigure[]> {
  const out: ForwardFigure[] = [];
  for (const T of lengths) {
    const ids = Array.from({ length: T }, (_, i) => (i * 7 + 1) % model.config.vocab);
    for (const hooks of [[], tenReadHooks(model.config.nLayers)]) {
      const ms = await timeIt(async () => void (await model.forward(ids, { hooks })), reps);
      out.push({ model: name, T, hooks: hooks.length, ms, tokensPerS: (T / ms) * 1000 });
    }
  }
  return out;
}

export interface TrainFigure {
  model: string;
  T: number;
  stepMs: number;
  forwardMs: number;
  tokensPerS: number;
  /** Training step time over forward time on the same sequence (target ≤ 3.5). */
  ratio: number;
  /** Peak GPU bytes of a step beyond the weights, in MiB; and with activation recomputation. */
  peakMB: number;
  recomputePeakMB: number;
}

/** LoRA r=8 on every linear module, one 64-token sequence per step. */
export async function trainingFigures(model: Model, name: string, reps = 5, T = 64): Promise<TrainFigure> {
  const ids = Array.from({ length: T }, (_, i) => (i * 7 + 1) % model.config.vocab);
  const targets = model.config.arch === 'gpt2' ? ['c_attn', 'c_proj', 'c_fc'] : ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];
  const settings = (recompute: boolean) => ({ lora: { rank: 8, alpha: 16, targets }, train: { lr: 1e-3, recompute }, batchSize: 1, seed: 0 });
  const data = [{ ids, labels: nextTokenLabels(ids) }];
  const run = new FinetuneRun(model, data, settings(false));
  let bytes = 0;
  const stepMs = await timeIt(async () => void (bytes = (await run.next()).peakBytes), reps);
  const forwardMs = await timeIt(async () => void (await model.forward(ids, { lora: run.lora })), reps);
  run.dispose();
  const recomputed = new FinetuneRun(model, data, settings(true));
  const recomputeBytes = (await recomputed.next()).peakBytes;
  recomputed.dispose();
  const MB = 2 ** 20;
  return { model: name, T, stepMs, forwardMs, tokensPerS: (T / stepMs) * 1000, ratio: stepMs / forwardMs, peakMB: bytes / MB, recomputePeakMB: recomputeBytes / MB };
}
