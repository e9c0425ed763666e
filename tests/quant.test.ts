// f16 storage and weight-only q8/q4 quantization, and the matmul-quant kernels: the CPU packing round-trips
// within half a step (f16: half an ulp), the GPU linear and gather equal the same math on the unpacked weights
// (every epilogue and prologue, K not a multiple of 32, decode and prefill tiles, row-split parts), whole models
// equal the float64 reference on the dequantized weights, and on stories260K f16 generates what f32 generates
// while q8 and q4 stay within KL bounds.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { nodeGpu } from '../src/gpu/node';
import { Pass, type Runtime } from '../src/gpu/runtime';
import { Model, runtimeFor } from '../src/engine/model';
import { folderFiles } from '../src/engine/files-node';
import * as op from '../src/engine/ops';
import { packMatrix, unpackMatrix, packedBytes, GROUP, type WeightDtype } from '../src/engine/quant';
import { uploadMatrix } from '../src/engine/packed-weights';
import { gaussian, writeTinyModel, type TinyKind } from './fixtures/tiny-models';
import { dequantizedRef } from './helpers/dequantized-ref';
import { expectClose } from './helpers/close';
import { loadRefModel, referenceForward, referenceGreedy } from './reference/reference';
import { argmax } from './reference/sampling';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { memoryFiles } from '../src/engine/files';
import { f16ToF32, f32ToBf16, f32ToF16, parseSafetensors, tensorToFloat32, writeSafetensors } from '../src/engine/safetensors';

const STORIES = fileURLToPath(new URL('../../shared/models/stories260K', import.meta.url));

const bf16ToF32 = (h: number) => new Float32Array(new Uint32Array([h << 16]).buffer)[0];

function randn(n: number, seed: number, std = 1): Float32Array {
  const g = gaussian(seed);
  return Float32Array.from({ length: n }, () => std * g());
}

describe('CPU packing', () => {
  test.each(['q8', 'q4'] as WeightDtype[])('%s round-trips within half a step of its group', (dt) => {
    const rows = 5;
    const cols = 172; // 5 full groups and a partial one
    const w = randn(rows * cols, 3);
    w[7] = 0; // a zero and a constant group must not divide by zero
    for (let k = 64; k < 96; k++) w[cols + k] = 0.25;
    const p = packMatrix(dt, w, rows, cols);
    expect(p.words.length * 4).toBe(packedBytes(dt, rows, cols));
    const back = unpackMatrix(p);
    for (let r = 0; r < rows; r++) {
      for (let g = 0; g * GROUP < cols; g++) {
        const xs = Array.from(w.subarray(r * cols + g * GROUP, r * cols + Math.min(cols, (g + 1) * GROUP)));
        const lo = Math.min(...xs);
        const hi = Math.max(...xs);
        const step = dt === 'q8' ? Math.max(-lo, hi) / 127 : (hi - lo) / 15;
        for (let j = 0; j < xs.length; j++) {
          const k = r * cols + g * GROUP + j;
          expect(Math.abs(back[k] - w[k]), `[${r}, ${g * GROUP + j}]`).toBeLessThanOrEqual(step * 0.5 * 1.01 + 1e-3 * Math.abs(lo) + 1e-7);
        }
      }
    }
    expect(back[cols + 70]).toBeCloseTo(0.25, 3);
  });

  test('f16 round-trips within half an ulp; values beyond f16\'s range are refused', () => {
    const rows = 3;
    const cols = 37; // odd: the last word of a row holds one half
    const w = randn(rows * cols, 4);
    w[5] = 0;
    w[6] = 1e-6; // subnormal in f16
    w[7] = -65504;
    const p = packMatrix('f16', w, rows, cols);
    expect(p.words.length * 4).toBe(packedBytes('f16', rows, cols));
    const back = unpackMatrix(p);
    for (let i = 0; i < w.length; i++) expect(Math.abs(back[i] - w[i]), `${i}`).toBeLessThanOrEqual(Math.abs(w[i]) * 2 ** -11 + 2 ** -25);
    expect(back[7]).toBe(-65504);
    const big = new Float32Array(64);
    big[33] = 7e4;
    expect(() => packMatrix('f16', big, 2, 32, 'lm_head')).toThrow(/lm_head: value 70000 at \[1, 1\] does not fit f16/);
  });

  test('bytes per parameter', () => {
    const n = 4096 * 4096;
    expect(packedBytes('f32', 4096, 4096) / n).toBe(4);
    expect(packedBytes('f16', 4096, 4096) / n).toBe(2);
    expect(packedBytes('q8', 4096, 4096) / n).toBe(1.125);
    expect(packedBytes('q4', 4096, 4096) / n).toBe(0.625);
  });

  test('a non-finite weight is refused with its position', () => {
    const w = new Float32Array(64);
    w[40] = NaN;
    expect(() => packMatrix('q8', w, 2, 32, 'blk.0.w')).toThrow(/blk\.0\.w: value NaN at \[1, 8\]/);
  });
});

describe('GPU kernels', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = runtimeFor(await nodeGpu());
  });

  // C = (A·scale + shift) Wᵀ + bias, R = res + C, in float64 on the unpacked weights.
  function reference(A: Float32Array, W: Float32Array, M: number, N: number, K: number, bias: Float32Array, pro: Float32Array, res: Float32Array) {
    const C = new Float64Array(M * N);
    const R = new Float64Array(M * N);
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += (A[m * K + k] * pro[k] + pro[K + k]) * W[n * K + k];
        C[m * N + n] = s + bias[n];
        R[m * N + n] = res[m * N + n] + C[m * N + n];
      }
    }
    return { C, R };
  }

  test.each([
    ['f16', 1, 1 << 30],
    ['f16', 9, 1 << 30],
    ['f16', 5, 2000],
    ['q8', 1, 1 << 30],
    ['q8', 9, 1 << 30],
    ['q4', 1, 1 << 30],
    ['q4', 9, 1 << 30],
    ['q4', 5, 2000], // split into parts of 2000 bytes
    ['f32', 9, 3000], // plain f32 split by rows
    ['q8', 2, 1500],
  ] as [WeightDtype, number, number][])('%s linear, M=%i, parts ≤ %i bytes, equals the unpacked math', async (dt, M, maxBinding) => {
    const N = 37;
    const K = 172;
    const A = randn(M * K, 10 + M);
    const W = randn(N * K, 11, 0.1);
    const bias = randn(N, 12);
    const pro = Float32Array.from([...randn(K, 13, 0.2)].map((x) => 1 + x).concat([...randn(K, 14, 0.1)]));
    const res = randn(M * N, 15);
    const up = uploadMatrix(rt, W, N, K, dt, maxBinding, 'w');
    if (maxBinding < 1e6) expect(up.buffers.length).toBeGreaterThan(1);
    const Wq = dt === 'f32' ? W : unpackMatrix(packMatrix(dt, W, N, K));
    const want = reference(A, Wq, M, N, K, bias, pro, res);
    const pass = new Pass(rt);
    const buf = (x: Float32Array) => rt.createStatic(x);
    const C = pass.scratchBuffer(M * N * 4);
    const R = pass.scratchBuffer(M * N * 4);
    op.linear(pass, { A: buf(A), M, K, W: up.handle, N, C, bias: buf(bias), affine: { buf: buf(pro), shift: true }, residual: { res: buf(res), R } });
    const gotC = pass.read(C, M * N * 4);
    const gotR = pass.read(R, M * N * 4);
    await pass.submit();
    expectClose('C', await gotC, want.C, 2e-4, 2e-4);
    expectClose('R', await gotR, want.R, 2e-4, 2e-4);
    up.buffers.forEach((b) => b.destroy());
  });

  test.each([['f16', 1 << 30], ['q8', 1 << 30], ['q4', 1 << 30], ['f16', 700], ['q8', 700], ['f32', 700]] as [WeightDtype, number][])('%s gather (parts ≤ %i bytes) returns the unpacked rows', async (dt, maxBinding) => {
    const V = 50;
    const D = 72;
    const table = randn(V * D, 21, 0.3);
    const up = uploadMatrix(rt, table, V, D, dt, maxBinding, 'embed');
    const unpacked = dt === 'f32' ? table : unpackMatrix(packMatrix(dt, table, V, D));
    const ids = [0, 49, 7, 7, 23];
    const pass = new Pass(rt);
    const idBuf = rt.createStatic(Uint32Array.from(ids));
    const out = pass.scratchBuffer(ids.length * D * 4);
    op.gather(pass, idBuf, up.handle, out, ids.length, D, V);
    const got = pass.read(out, ids.length * D * 4);
    await pass.submit();
    const want = ids.flatMap((id) => Array.from(unpacked.subarray(id * D, (id + 1) * D)));
    expectClose('rows', await got, want, 0, 0);
    up.buffers.forEach((b) => b.destroy());
  });
});

// |logits − float64 reference on the original weights| ≤ this, per dtype, on these tiny random models (logits
// of order 1; f32's own bound is 2e-4 + 2e-4·|ref|). Measured worst over gpt2 / qwen2 / llama-wide-heads:
// f16 2.5e-3 / 3.8e-3 / 3.0e-3, q8 0.091 / 0.084 / 0.096, q4 1.34 / 1.18 / 0.94.
const TOLERANCE: Record<'f16' | 'q8' | 'q4', [number, number]> = { f16: [1e-2, 0], q8: [0.2, 0], q4: [2.5, 0] };

describe.each(['gpt2', 'qwen2', 'llama-wide-heads'] as TinyKind[])('%s quantized', (kind) => {
  test.each(['f16', 'q8', 'q4'] as const)('%s logits equal the float64 reference on the dequantized weights, and the original within its tolerance', async (dt) => {
    const dir = writeTinyModel(kind);
    const model = await Model.load(await nodeGpu(), folderFiles(dir), { dtype: dt });
    const ids = [5, 9, 13, 2, 7, 31, 8, 1, 4];
    const got = (await model.forward(ids)).logits!;
    expectClose('logits', got, referenceForward(dequantizedRef(dir, dt), ids).logits);
    const orig = referenceForward(loadRefModel(dir), ids).logits;
    console.log(`${kind} ${dt}: max |logit − f64 reference on the original weights| ${Math.max(...got.map((g, i) => Math.abs(g - orig[i]))).toExponential(2)}`);
    expectClose('logits vs original', got, orig, ...TOLERANCE[dt]);
    model.dispose();
  });
});

test('a 256-wide model (bench-llama, random weights): q8 greedy 30 tokens equal f32\'s; q4 stays close', async () => {
  const dir = writeTinyModel('bench-llama');
  const gpu = await nodeGpu();
  const run = async (dt: WeightDtype) => {
    const m = await Model.load(gpu, folderFiles(dir), { dtype: dt });
    const ids = await m.generate([5, 9], { maxNewTokens: 30, stop: [] });
    return { m, ids };
  };
  const f32 = await run('f32');
  const q8 = await run('q8');
  const q4 = await run('q4');
  expect(q8.ids).toEqual(f32.ids);
  const seq = [5, 9, ...f32.ids];
  const lf = (await f32.m.forward(seq)).logits!;
  const kl8 = meanKl(lf, (await q8.m.forward(seq)).logits!, f32.m.config.vocab);
  const kl4 = meanKl(lf, (await q4.m.forward(seq)).logits!, f32.m.config.vocab);
  console.log(`bench-llama over ${seq.length} positions: q8 mean KL ${kl8.toExponential(3)}, q4 mean KL ${kl4.toExponential(3)}`);
  // Measured: q8 1.0e-5, q4 1.4e-3.
  expect(kl8).toBeLessThan(1e-4);
  expect(kl4).toBeLessThan(1e-2);
  [f32, q8, q4].forEach((r) => r.m.dispose());
});

function logSoftmax(x: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of x) max = Math.max(max, v);
  let sum = 0;
  for (const v of x) sum += Math.exp(v - max);
  const lse = max + Math.log(sum);
  return Float64Array.from(x, (v) => v - lse);
}

/** Mean over positions of KL(p ‖ q) between rows of logits. */
export function meanKl(p: Float32Array, q: Float32Array, V: number): number {
  let total = 0;
  const T = p.length / V;
  for (let t = 0; t < T; t++) {
    const lp = logSoftmax(p.subarray(t * V, (t + 1) * V));
    const lq = logSoftmax(q.subarray(t * V, (t + 1) * V));
    for (let i = 0; i < V; i++) total += Math.exp(lp[i]) * (lp[i] - lq[i]);
  }
  return total / T;
}

describe('stories260K quantized', () => {
  const models: Partial<Record<WeightDtype, Model>> = {};
  beforeAll(async () => {
    const gpu = await nodeGpu();
    for (const dt of ['f32', 'f16', 'q8', 'q4'] as WeightDtype[]) models[dt] = await Model.load(gpu, folderFiles(STORIES), { dtype: dt });
  });
  afterAll(() => Object.values(models).forEach((m) => m.dispose()));

  test('weights take 4, 2, 1.125 and (q4 linears, q8 embedding) about 0.7 bytes per parameter', () => {
    const per = (dt: WeightDtype) => models[dt]!.plan.total / models[dt]!.plan.params;
    expect(per('f32')).toBe(4);
    expect(per('f16')).toBeGreaterThanOrEqual(2);
    expect(per('f16')).toBeLessThan(2.01); // the norm weights stay f32
    expect(models.f16!.weightBytes).toBe(models.f16!.plan.total);
    expect(per('q8')).toBeGreaterThanOrEqual(1.125);
    expect(per('q8')).toBeLessThan(1.2); // stories' d_mlp 172 pads to 192 per row
    expect(per('q4')).toBeLessThan(0.9);
    expect(models.q8!.weightBytes).toBeLessThan(models.f32!.weightBytes / 3);
  });

  test('F16 and BF16 safetensors (matrices; norms F32) load as f16: F16 to the F32 file\'s f16 logits bit for bit, BF16 to the float64 reference on its f16-rounded weights', async () => {
    const bytes = new Uint8Array(readFileSync(join(STORIES, 'model.safetensors')));
    const h = parseSafetensors(bytes);
    const config = readFileSync(join(STORIES, 'config.json'), 'utf8');
    const as = (dtype: 'F16' | 'BF16') =>
      memoryFiles(`stories260K-${dtype}`, {
        'config.json': config,
        'model.safetensors': writeSafetensors(Object.fromEntries([...h.tensors].map(([n, info]) => [n, { dtype: info.shape.length === 2 ? dtype : 'F32', shape: info.shape, data: tensorToFloat32(bytes, info, h.dataOffset) }]))),
      });
    const ids = [1, 300, 20, 45];
    const f16 = await Model.load(await nodeGpu(), as('F16'), { dtype: 'f16' });
    expect(Array.from((await f16.forward(ids)).logits!)).toEqual(Array.from((await models.f16!.forward(ids)).logits!));
    f16.dispose();
    const bf16 = await Model.load(await nodeGpu(), as('BF16'), { dtype: 'f16' });
    const ref = loadRefModel(STORIES);
    const round = (x: number) => f16ToF32(f32ToF16(bf16ToF32(f32ToBf16(x))));
    for (const [name, data] of ref.tensors) if (ref.shapes.get(name)!.length === 2) ref.tensors.set(name, Float64Array.from(data as ArrayLike<number>, round) as never);
    expectClose('logits', (await bf16.forward(ids)).logits!, referenceForward(ref, ids).logits);
    bf16.dispose();
  });

  test('f16 greedy 30 tokens equal f32\'s', async () => {
    const f32 = await models.f32!.generate([1], { maxNewTokens: 30, stop: [] });
    expect(await models.f16!.generate([1], { maxNewTokens: 30, stop: [] })).toEqual(f32);
  });

  // stories260K is chaotic under weight perturbations larger than f16's: f32's greedy steps 0 and 2 win by 0.108
  // and 0.053 logits and q8's logit error is ~0.1-0.2, so q8's free-running greedy leaves f32's at the first token.
  // In the float64 reference, int8 with absmax scales per group of 32 (q8), or MSE-fitted scales, leaves at token
  // 0; groups of 16 at token 2; groups of 8 or 4 at token 19. Quantizing only layer 0's gate_proj already leaves
  // at token 0. So the acceptance "q8 greedy equals f32's" holds for f16 here and for q8 on the 256-wide model
  // above, not for int8 on this 64-wide model. What must hold: the GPU q8/q4 forward is exactly the
  // float64 math on the dequantized weights, and teacher-forced on f32's continuation the distributions stay close.
  test.each(['q8', 'q4'] as WeightDtype[])('%s greedy 30 tokens equal the float64 reference on the same dequantized weights', async (dt) => {
    const ref = loadRefModel(STORIES);
    for (const [name, data] of ref.tensors) {
      const shape = ref.shapes.get(name)!;
      if (shape.length !== 2) continue;
      const table = name.includes('embed_tokens') || name === 'lm_head.weight';
      const qd: WeightDtype = table && dt === 'q4' ? 'q8' : dt;
      ref.tensors.set(name, unpackMatrix(packMatrix(qd, Float32Array.from(data as ArrayLike<number>), shape[0], shape[1])) as never);
    }
    const got = await models[dt]!.generate([1], { maxNewTokens: 30, stop: [] });
    expect(got).toEqual(referenceGreedy(ref, [1], 30));
  });

  test('teacher-forced on f32 greedy: f16, q8 and q4 stay close (mean KL, top-1 agreement)', async () => {
    const f32 = await models.f32!.generate([1], { maxNewTokens: 30, stop: [] });
    const seq = [1, ...f32];
    const V = models.f32!.config.vocab;
    const lf = (await models.f32!.forward(seq)).logits!;
    const stats = async (dt: WeightDtype) => {
      const lq = (await models[dt]!.forward(seq)).logits!;
      let agree = 0;
      for (let t = 0; t < seq.length; t++) agree += Number(argmax(lf.subarray(t * V, (t + 1) * V)) === argmax(lq.subarray(t * V, (t + 1) * V)));
      return { kl: meanKl(lf, lq, V), agree: agree / seq.length };
    };
    const f16 = await stats('f16');
    const q8 = await stats('q8');
    const q4 = await stats('q4');
    console.log(`stories260K over ${seq.length} positions: f16 mean KL ${f16.kl.toExponential(3)}, top-1 ${(100 * f16.agree).toFixed(1)}%; q8 mean KL ${q8.kl.toExponential(3)}, top-1 ${(100 * q8.agree).toFixed(1)}%; q4 mean KL ${q4.kl.toExponential(3)}, top-1 ${(100 * q4.agree).toFixed(1)}%`);
    // Measured: q8 KL 1.7e-2, top-1 87%; q4 KL 1.33, top-1 48% (a 64-wide model has no redundancy for 4 bits).
    expect(f16.agree).toBe(1);
    expect(f16.kl).toBeLessThan(q8.kl / 20);
    expect(q8.kl).toBeLessThan(q4.kl / 20);
    expect(q8.kl).toBeLessThan(0.04);
    expect(q4.kl).toBeLessThan(2);
    expect(q8.agree).toBeGreaterThanOrEqual(0.8);
  });

  test('row-split embedding and lm_head (8 KiB bindings) give the unsplit logits', async () => {
    const split = await Model.load(await nodeGpu(), folderFiles(STORIES), { dtype: 'f32', maxBinding: 8192 });
    expect(split.plan.tensors.find((t) => t.name === 'embed')!.parts).toBe(16);
    const ids = [1, 300, 20, 45];
    expectClose('logits', (await split.forward(ids)).logits!, (await models.f32!.forward(ids)).logits!, 1e-5, 1e-4);
    split.dispose();
  });
});
