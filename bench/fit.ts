// Probe fitting: a multinomial logistic-regression probe on a 10,000 × 256 activation matrix with 10 classes,
// fitted on the GPU (src/engine/fit/logreg.ts) and by the float64 TypeScript solver (tests/reference/fit.ts) on
// the same data, to the same stopping rule, in the same run. Run alone: node --import ./bin/register.js bench/fit.ts
import type { Runtime } from '../src/gpu/runtime';
import { fitLogistic } from '../src/engine/fit';
import { referenceLogistic } from '../tests/reference/fit';
import { clusters, flat } from '../tests/helpers/fit-data';

export interface FitFigures {
  n: number;
  d: number;
  C: number;
  gpuMs: number;
  cpuMs: number;
  gpuIterations: number;
  cpuIterations: number;
  /** Largest |W_gpu − W_ts| and |b_gpu − b_ts|, and the largest |W_ts| for scale. */
  maxDiff: number;
  maxWeight: number;
  /** Share of rows where both probes predict the same class. */
  agreement: number;
}

export async function fitFigures(rt: Runtime, n = 10_000, d = 256, C = 10): Promise<FitFigures> {
  const { X, y } = clusters(n, d, C, 1, 12);
  const opts = { l2: 1e-2, tol: 1e-4 };
  const buf = rt.createStatic(flat(X)); // as after a hook read: the activations are already on the GPU
  await fitLogistic(rt, { buf, rows: 200, cols: d }, y.slice(0, 200), opts); // warm-up: pipelines compiled
  let t = performance.now();
  const gpu = await fitLogistic(rt, { buf, rows: n, cols: d }, y, opts);
  const gpuMs = performance.now() - t;
  buf.destroy();
  t = performance.now();
  const ts = referenceLogistic(X, y, C, opts);
  const cpuMs = performance.now() - t;
  let maxDiff = 0;
  for (let e = 0; e < ts.W.length; e++) maxDiff = Math.max(maxDiff, Math.abs(gpu.W[e] - ts.W[e]));
  for (let c = 0; c < C; c++) maxDiff = Math.max(maxDiff, Math.abs(gpu.b[c] - ts.b[c]));
  const predict = (W: ArrayLike<number>, b: ArrayLike<number>, x: ArrayLike<number>) => {
    let best = 0;
    let bestS = -Infinity;
    for (let c = 0; c < C; c++) {
      let s = b[c];
      for (let j = 0; j < d; j++) s += (x[j] - ts.mean[j]) * ts.scale[j] * W[j * C + c];
      if (s > bestS) [best, bestS] = [c, s];
    }
    return best;
  };
  const agreement = X.filter((x) => predict(gpu.W, gpu.b, x) === predict(ts.W, ts.b, x)).length / n;
  const maxWeight = Math.max(...Array.from(ts.W).map(Math.abs));
  return { n, d, C, gpuMs, cpuMs, gpuIterations: gpu.iterations, cpuIterations: ts.iterations, maxDiff, maxWeight, agreement };
}

export function printFitFigures(where: string, f: FitFigures): void {
  console.log(`\nProbe fitting (${where}): logistic regression, ${f.n} × ${f.d}, ${f.C} classes, λ₂ = 1e-2, gradient map ≤ 1e-4`);
  console.log(`  GPU (engine/fit)        ${(f.gpuMs / 1000).toFixed(2)} s, ${f.gpuIterations} iterations`);
  console.log(`  TypeScript (float64)    ${(f.cpuMs / 1000).toFixed(2)} s, ${f.cpuIterations} iterations   → ${(f.cpuMs / f.gpuMs).toFixed(1)}× faster on the GPU`);
  console.log(`  same result: max |Δθ| = ${f.maxDiff.toExponential(1)} (largest |W| ${f.maxWeight.toFixed(2)}), predictions agree on ${(100 * f.agreement).toFixed(2)} % of rows`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { nodeGpu, closeGpu } = await import('../src/gpu/node');
  const { runtimeFor } = await import('../src/engine/model');
  printFitFigures('Node (Dawn)', await fitFigures(runtimeFor(await nodeGpu())));
  await closeGpu();
  process.exit(0);
}
