import { fileURLToPath } from 'node:url';
import type { ForwardFigure, MatmulFigure, TrainFigure } from './measure';

export const STORIES = fileURLToPath(new URL('../../shared/models/stories260K', import.meta.url));

export function printFigures(where: string, adapter: string, matmul: MatmulFigure[], forward: ForwardFigure[], training: TrainFigure[]): void {
  console.log(`\n== ${where} — adapter: ${adapter}`);
  console.log('matmul M×K×N        tiled GFLOP/s   naive GFLOP/s');
  for (const f of matmul) console.log(`  ${f.shape.padEnd(18)} ${f.tiledGflops.toFixed(2).padStart(12)} ${f.naiveGflops.toFixed(2).padStart(14)}`);
  console.log('forward (prefill)                     T  hooks      ms    tokens/s');
  for (const f of forward) {
    console.log(`  ${f.model.padEnd(34)} ${String(f.T).padStart(3)} ${String(f.hooks).padStart(6)} ${f.ms.toFixed(1).padStart(7)} ${f.tokensPerS.toFixed(1).padStart(11)}`);
  }
  console.log('LoRA r=8 training (all linear modules)     T  step ms  forward ms  tokens/s  step/forward  peak MB  recompute MB');
  for (const f of training) {
    console.log(`  ${f.model.padEnd(38)} ${String(f.T).padStart(3)} ${f.stepMs.toFixed(1).padStart(8)} ${f.forwardMs.toFixed(1).padStart(11)} ${f.tokensPerS.toFixed(1).padStart(9)} ${f.ratio.toFixed(2).padStart(13)} ${f.peakMB.toFixed(1).padStart(8)} ${f.recomputePeakMB.toFixed(1).padStart(13)}`);
  }
}
