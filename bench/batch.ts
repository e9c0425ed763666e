// Batched forward and k samples per prompt against the same work done one call at a time, same run:
// 64 prompts of 16 tokens (last logits) as one batch vs 64 forwards; k = 8 samples of 16 tokens from one
// prefill vs 8 generate calls. Wall time and this process's CPU time (Dawn runs SwiftShader's threads in-process,
// so on a shared machine CPU time is the steadier measure of the work). Run alone:
// node --import ./bin/register.js bench/batch.ts
import type { Model } from '../src/engine/model';
import { median } from './measure';

export interface BatchFigure {
  model: string;
  what: string;
  single: Timing;
  batched: Timing;
}

interface Timing {
  wallMs: number;
  cpuMs: number;
}

async function time(fn: () => Promise<unknown>, reps: number): Promise<Timing> {
  await fn();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < reps; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await fn();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { wallMs: median(wall), cpuMs: median(cpu) };
}

export async function batchFigures(model: Model, name: string, reps = 3): Promise<BatchFigure[]> {
  const V = model.config.vocab;
  const prompts = Array.from({ length: 64 }, (_, p) => Array.from({ length: 16 }, (_, t) => (p * 31 + t * 7 + 1) % V));
  const single = await time(async () => {
    for (const ids of prompts) await model.forward(ids, { logits: 'last' });
  }, reps);
  const batched = await time(() => model.forwardBatch(prompts, { lastLogits: true }), reps);
  const o = { maxNewTokens: 16, temperature: 1, topP: 0.95, stop: [] as number[] };
  const prompt = prompts[0];
  const generate = await time(async () => {
    for (let j = 0; j < 8; j++) await model.generate(prompt, { ...o, seed: j });
  }, reps);
  const samples = await time(() => model.sample([prompt], { ...o, k: 8 }), reps);
  return [
    { model: name, what: '64 prompts × 16 tokens, last logits', single, batched },
    { model: name, what: 'k = 8 samples × 16 new tokens', single: generate, batched: samples },
  ];
}

export function printBatchFigures(where: string, figures: BatchFigure[]): void {
  console.log(`\n== ${where} — batched vs one call at a time`);
  console.log('  model                               work                                    single ms (CPU)  batched ms (CPU)  speed-up wall (CPU)');
  const ms = (t: Timing) => `${t.wallMs.toFixed(0)} (${t.cpuMs.toFixed(0)})`;
  for (const f of figures) {
    const up = `${(f.single.wallMs / f.batched.wallMs).toFixed(2)}× (${(f.single.cpuMs / f.batched.cpuMs).toFixed(2)}×)`;
    console.log(`  ${f.model.padEnd(35)} ${f.what.padEnd(38)} ${ms(f.single).padStart(16)} ${ms(f.batched).padStart(17)} ${up.padStart(20)}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { nodeGpu, closeGpu } = await import('../src/gpu/node');
  const { describeAdapter } = await import('../src/gpu/device');
  const { Model } = await import('../src/engine/model');
  const { folderFiles } = await import('../src/engine/files-node');
  const { writeTinyModel } = await import('../tests/fixtures/tiny-models');
  const { STORIES } = await import('./report');
  const gpu = await nodeGpu();
  const figures: BatchFigure[] = [];
  for (const [name, dir] of Object.entries({ stories260K: STORIES, 'bench-llama (4L, 256 wide)': writeTinyModel('bench-llama') })) {
    const m = await Model.load(gpu, folderFiles(dir));
    figures.push(...(await batchFigures(m, name)));
    m.dispose();
  }
  printBatchFigures(`Node (Dawn) — adapter: ${describeAdapter(gpu)}`, figures);
  await closeGpu();
  process.exit(0);
}
