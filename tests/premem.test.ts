// Pre-memorization accuracy (src/methods/premem): the .npy reader, the metric against hand-computed values, the
// authors' released runs (../shared/data/premem) against the figures in REFERENCE-NOTES §3, and bad input.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { readNpy, writeNpy } from '../src/methods/premem/npy';
import { analyze, preMemorizationAccuracy, r2, sweep } from '../src/methods/premem/metric';
import { findRuns, readRun, type Run } from '../src/methods/premem/runs';
import { blobFolder } from '../src/methods/premem/folder';
import { folderBlobs, prememCommand } from '../src/cli/premem';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const DATA = fileURLToPath(new URL('../../shared/data/premem', import.meta.url));

/** A .npy v1.0 file with a header written by hand (dtypes writeNpy does not write, corrupt headers). */
function rawNpy(header: string, body: Uint8Array, major = 1): Uint8Array {
  const pre = major === 1 ? 10 : 12;
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(pre + h.length + body.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  if (major === 1) new DataView(out.buffer).setUint16(8, h.length, true);
  else new DataView(out.buffer).setUint32(8, h.length, true);
  out.set(h, pre);
  out.set(body, pre + h.length);
  return out;
}

describe('.npy reader', () => {
  it('reads uint8 / int32 / float32 / float64 of any shape back as written', () => {
    const u8 = readNpy('a', writeNpy(Uint8Array.from([1, 0, 1, 1, 0, 0]), [2, 3]));
    expect(u8).toMatchObject({ dtype: 'uint8', shape: [2, 3] });
    expect([...u8.data]).toEqual([1, 0, 1, 1, 0, 0]);
    const i32 = readNpy('b', writeNpy(Int32Array.from([-5, 7, 2 ** 31 - 1]), [3]));
    expect(i32.shape).toEqual([3]);
    expect([...i32.data]).toEqual([-5, 7, 2 ** 31 - 1]);
    const f32 = readNpy('c', writeNpy(Float32Array.from({ length: 24 }, (_, i) => i / 3), [2, 3, 4]));
    expect(f32).toMatchObject({ dtype: 'float32', shape: [2, 3, 4] });
    expect(f32.data[23]).toBe(Math.fround(23 / 3));
    const f64 = readNpy('d', writeNpy(Float64Array.from([Math.PI]), []));
    expect(f64.shape).toEqual([]);
    expect(f64.data[0]).toBe(Math.PI);
  });

  it('reads int64 and format 2.0, whatever the data offset', () => {
    const body = new Uint8Array(new BigInt64Array([-3n, 2n ** 40n]).buffer);
    const a = readNpy('e', rawNpy("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }\n", body, 2));
    expect(a.dtype).toBe('int64');
    expect([...a.data]).toEqual([-3n, 2n ** 40n]);
  });

  it("reads the authors' files (written by NumPy)", async () => {
    const dir = join(DATA, 'gsm8k_orig_3epochs_full_lr2e-05_bs128');
    const files = await folderBlobs(dir);
    const bytes = async (p: string) => new Uint8Array(await files[p].arrayBuffer());
    const t = readNpy('t', await bytes('checkpoint-58/train_correct.npy'));
    expect(t).toMatchObject({ dtype: 'uint8', shape: [7473, 50] });
    // np.load(...).sum() and the last row's first ten samples
    expect((t.data as Uint8Array).reduce((s, x) => s + x, 0)).toBe(200164);
    expect([...t.data.subarray(7472 * 50, 7472 * 50 + 10)]).toEqual([1, 1, 1, 1, 1, 1, 1, 0, 1, 1]);
    expect(readNpy('p', await bytes('checkpoint-58/train_perplexities.npy'))).toMatchObject({ dtype: 'float32', shape: [7473] });
    expect(readNpy('s', await bytes('subsample_idxs.npy'))).toMatchObject({ dtype: 'int32', shape: [7473] });
  });

  it('refuses a corrupt header, an unsupported dtype, Fortran order and truncated data, naming the file', () => {
    const body = new Uint8Array(16);
    expect(() => readNpy('x.npy', new TextEncoder().encode('not numpy at all'))).toThrow(/x\.npy: not a \.npy file/);
    expect(() => readNpy('x.npy', rawNpy("{'descr': '<f4', 'shape': (4,), }", body))).toThrow(/x\.npy: corrupt \.npy header \(no 'fortran_order'\)/);
    expect(() => readNpy('x.npy', rawNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (4, a), }", body))).toThrow(/x\.npy: corrupt \.npy header/);
    expect(() => readNpy('x.npy', rawNpy("garbage", body))).toThrow(/x\.npy: corrupt \.npy header \(not a dict literal\)/);
    const long = rawNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", body);
    new DataView(long.buffer).setUint16(8, 60000, true);
    expect(() => readNpy('x.npy', long)).toThrow(/x\.npy: corrupt \.npy header \(it claims 60000 bytes/);
    expect(() => readNpy('x.npy', rawNpy("{'descr': '>f4', 'fortran_order': False, 'shape': (4,), }", body))).toThrow(/x\.npy: dtype '>f4' is not supported/);
    expect(() => readNpy('x.npy', rawNpy("{'descr': '<f2', 'fortran_order': False, 'shape': (4,), }", body))).toThrow(/x\.npy: dtype '<f2' is not supported/);
    expect(() => readNpy('x.npy', rawNpy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", body))).toThrow(/x\.npy: Fortran-order/);
    expect(() => readNpy('x.npy', rawNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }", body))).toThrow(/x\.npy: truncated \.npy data \(shape \(5\) of float32 needs 20 bytes, the file has 16\)/);
  });
});

/** A run from per-checkpoint [accuracy per example] and [perplexity per example]. */
function run(name: string, acc: number[][], ppl: number[][], test: number[]): Run {
  return {
    name,
    checkpoints: acc.map((a, t) => ({
      step: t + 1,
      accuracy: Float64Array.from(a),
      logLogPerplexity: Float64Array.from(ppl[t], (p) => (p > 1 ? Math.log(Math.log(p)) : -Infinity)),
      testAccuracy: test[t],
    })),
  };
}

describe('the metric', () => {
  // p = −2.3 ⇒ memorised ⇔ perplexity < exp(exp(−2.3)) ≈ 1.1052
  const MEM = 1.05;
  const NOT = 1.5;

  it('is min(max over earlier unmemorised accuracies, current accuracy), per example', () => {
    const r = run('r', [[0.2, 1], [0.6, 1], [0.4, 0], [0.8, 0.6]], [[NOT, MEM], [MEM, MEM], [NOT, NOT], [MEM, NOT]], [0, 0, 0, 0]);
    const pm = preMemorizationAccuracy(r, -2.3).map((a) => [...a]);
    // example 0: best unmemorised 0.2, 0.2, 0.4, 0.4 → min with 0.2, 0.6, 0.4, 0.8
    // example 1: memorised until checkpoint 3 (accuracy 0 then), so 0 until checkpoint 4: min(max(0, 0.6), 0.6)
    expect(pm).toEqual([[0.2, 0], [0.2, 0], [0.4, 0], [0.4, 0.6]]);
    // a perplexity of 1 (or less) is memorised at any threshold
    expect([...preMemorizationAccuracy(run('one', [[1]], [[1]], [0]), -20)[0]]).toEqual([0]);
  });

  it('gives one point per checkpoint of each run and r² as the squared Pearson correlation', () => {
    const a = run('a', [[0.2, 0.4], [0.6, 0.8]], [[NOT, NOT], [NOT, MEM]], [0.3, 0.55]);
    const b = run('b', [[0.1, 0.1], [1, 1]], [[NOT, NOT], [MEM, MEM]], [0.12, 0.2]);
    const out = analyze([a, b], 'toy', -2.3);
    expect(out.n_points).toBe(4);
    expect(out.points.map((p) => [p.run, p.step, p.premem, p.train_accuracy, p.memorised])).toEqual([
      ['a', 1, 0.30000000000000004, 0.30000000000000004, 0],
      ['a', 2, 0.5, 0.7, 0.5],
      ['b', 1, 0.1, 0.1, 0],
      ['b', 2, 0.1, 1, 1],
    ]);
    // squared Pearson correlation by hand
    const pearson2 = (x: number[], y: number[]) => {
      const mx = x.reduce((s, v) => s + v) / x.length;
      const my = y.reduce((s, v) => s + v) / y.length;
      const sxy = x.reduce((s, v, i) => s + (v - mx) * (y[i] - my), 0);
      const sxx = x.reduce((s, v) => s + (v - mx) ** 2, 0);
      const syy = y.reduce((s, v) => s + (v - my) ** 2, 0);
      return (sxy * sxy) / (sxx * syy);
    };
    const test = [0.3, 0.55, 0.12, 0.2];
    expect(out.r2_premem).toBeCloseTo(pearson2([0.3, 0.5, 0.1, 0.1], test), 12);
    expect(out.r2_train_accuracy).toBeCloseTo(pearson2([0.3, 0.7, 0.1, 1], test), 12);
    expect(r2([1, 1, 1], [1, 2, 3])).toBeNull();
    expect(r2([1, 2], [1, 2])).toBeNull();
  });

  it('respects the subsample: rows a run did not train on do not count', async () => {
    const files = (idx: number[] | null, other: number) => {
      const f: Record<string, Blob> = {
        'gsm8k_r/checkpoint-1/train_correct.npy': new Blob([writeNpy(Uint8Array.from([1, 0, other, other]), [2, 2])]),
        'gsm8k_r/checkpoint-1/test_correct.npy': new Blob([writeNpy(Uint8Array.from([1, 0]), [1, 2])]),
        'gsm8k_r/checkpoint-1/train_perplexities.npy': new Blob([writeNpy(Float32Array.from([2, 2]), [2])]),
      };
      if (idx) f['gsm8k_r/subsample_idxs.npy'] = new Blob([writeNpy(Int32Array.from(idx), [idx.length])]);
      return blobFolder('mem', f);
    };
    const one = async (idx: number[] | null, other: number) => {
      const folder = files(idx, other);
      return analyze([await readRun(folder, findRuns(folder, 'gsm8k')[0])], 'gsm8k', -2.3).points[0];
    };
    expect((await one([0], 0)).premem).toBe(0.5);
    expect((await one([0], 1)).premem).toBe(0.5);
    expect((await one(null, 1)).premem).toBe(0.75);
    await expect(one([0, 2], 0)).rejects.toThrow(/mem\/gsm8k_r\/subsample_idxs\.npy: index 2 \(entry 1\) is outside the 2 training rows/);
  });
});

describe("the authors' runs (../shared/data/premem)", () => {
  it('GSM8K: 51 points, r² 0.939 (pre-memorization) vs 0.398 (train accuracy)', async () => {
    const out = (await prememCommand(['analyze'], { data: DATA, dataset: 'gsm8k', quiet: true, sweep: '-2.5:-2.1:0.2' })) as ReturnType<typeof analyze> & { sweep: ReturnType<typeof sweep> };
    expect(out.n_points).toBe(51);
    expect(out.n_runs).toBe(13);
    expect(Math.abs(out.r2_premem! - 0.939)).toBeLessThanOrEqual(0.002);
    expect(Math.abs(out.r2_train_accuracy! - 0.398)).toBeLessThanOrEqual(0.002);
    // REFERENCE-NOTES §3: lr 2e-5, 3 epochs: pre-mem 0.44 / 0.48 / 0.50 vs test 0.45 / 0.53 / 0.54
    const r = out.points.filter((p) => p.run === 'gsm8k_orig_3epochs_full_lr2e-05_bs128');
    expect(r.map((p) => p.step)).toEqual([58, 116, 174]);
    expect(r.map((p) => Number(p.premem.toFixed(2)))).toEqual([0.44, 0.48, 0.5]);
    expect(r.map((p) => Number(p.test_accuracy.toFixed(2)))).toEqual([0.45, 0.53, 0.54]);
    // the sweep passes through the default threshold with the same r²
    expect(out.sweep.map((s) => s.threshold)).toEqual([-2.5, -2.3, -2.1]);
    expect(out.sweep[1].r2_premem).toBe(out.r2_premem);
  });

  it('MATH: 42 points, r² 0.950 vs 0.005', async () => {
    const out = (await prememCommand(['analyze'], { data: DATA, dataset: 'math', quiet: true })) as ReturnType<typeof analyze>;
    expect(out.n_points).toBe(42);
    expect(out.threshold).toBe(-1.7);
    expect(Math.abs(out.r2_premem! - 0.95)).toBeLessThanOrEqual(0.002);
    expect(Math.abs(out.r2_train_accuracy! - 0.005)).toBeLessThanOrEqual(0.002);
  });

  it('latentlab premem analyze --json prints the same', () => {
    const r = spawnSync(process.execPath, ['--import', './bin/register.js', 'src/cli/main.ts', 'premem', 'analyze', '--data', DATA, '--dataset', 'math', '--threshold', '-1.7', '--json', '--quiet'], { cwd: REPO, encoding: 'utf8' });
    expect(r.stderr).not.toMatch(/latentlab:/);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out)).toEqual(expect.arrayContaining(['n_points', 'r2_premem', 'r2_train_accuracy', 'points']));
    expect(out.n_points).toBe(42);
    expect(Math.abs(out.r2_premem - 0.95)).toBeLessThanOrEqual(0.002);
  });
});

describe('bad input names the file', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'premem-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const cmd = (dir: string) => prememCommand(['analyze'], { data: dir, dataset: 'gsm8k', quiet: true });
  const put = (dir: string, rel: string, bytes: Uint8Array) => {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), bytes);
  };
  const good = (dir: string, nTrain = 3) => {
    put(dir, 'gsm8k_a/checkpoint-1/train_correct.npy', writeNpy(new Uint8Array(nTrain * 2), [nTrain, 2]));
    put(dir, 'gsm8k_a/checkpoint-1/test_correct.npy', writeNpy(new Uint8Array(4), [2, 2]));
    put(dir, 'gsm8k_a/checkpoint-1/train_perplexities.npy', writeNpy(new Float32Array(nTrain).fill(2), [nTrain]));
  };

  it('a folder with no runs', async () => {
    const dir = join(tmp, 'none');
    put(dir, 'math_x/checkpoint-1/train_correct.npy', new Uint8Array(1));
    await expect(cmd(dir)).rejects.toThrow(new RegExp(`${dir}: no runs for gsm8k .*folders seen: math_x/checkpoint-1`));
    await expect(cmd(join(tmp, 'absent'))).rejects.toThrow(/absent: no such folder/);
  });

  it('a checkpoint missing a file', async () => {
    const dir = join(tmp, 'missing');
    good(dir);
    rmSync(join(dir, 'gsm8k_a/checkpoint-1/train_perplexities.npy'));
    await expect(cmd(dir)).rejects.toThrow(new RegExp(`${dir}/gsm8k_a/checkpoint-1/train_perplexities\\.npy: missing`));
  });

  it('arrays of mismatched row counts', async () => {
    const dir = join(tmp, 'rows');
    good(dir);
    put(dir, 'gsm8k_a/checkpoint-1/train_perplexities.npy', writeNpy(new Float32Array(4).fill(2), [4]));
    await expect(cmd(dir)).rejects.toThrow(/gsm8k_a\/checkpoint-1\/train_perplexities\.npy: 4 rows, but .*gsm8k_a\/checkpoint-1\/train_correct\.npy has 3/);
    const dir2 = join(tmp, 'rows2');
    good(dir2);
    put(dir2, 'gsm8k_a/checkpoint-2/train_correct.npy', writeNpy(new Uint8Array(8), [4, 2]));
    put(dir2, 'gsm8k_a/checkpoint-2/test_correct.npy', writeNpy(new Uint8Array(4), [2, 2]));
    put(dir2, 'gsm8k_a/checkpoint-2/train_perplexities.npy', writeNpy(new Float32Array(4).fill(2), [4]));
    await expect(cmd(dir2)).rejects.toThrow(/gsm8k_a\/checkpoint-2\/train_correct\.npy: 4 rows, but .*checkpoint-1\/train_correct\.npy has 3/);
  });

  it('a corrupt .npy header, a correctness that is not 0/1, a NaN perplexity', async () => {
    const dir = join(tmp, 'corrupt');
    good(dir);
    put(dir, 'gsm8k_a/checkpoint-1/test_correct.npy', rawNpy('{oops', new Uint8Array(4)));
    await expect(cmd(dir)).rejects.toThrow(new RegExp(`${dir}/gsm8k_a/checkpoint-1/test_correct\\.npy: corrupt \\.npy header`));
    const dir2 = join(tmp, 'values');
    good(dir2);
    put(dir2, 'gsm8k_a/checkpoint-1/train_correct.npy', writeNpy(Uint8Array.from([0, 1, 2, 0, 0, 0]), [3, 2]));
    await expect(cmd(dir2)).rejects.toThrow(/checkpoint-1\/train_correct\.npy: row 1, sample 0 is 2; correctness must be 0 or 1/);
    const dir3 = join(tmp, 'nan');
    good(dir3);
    put(dir3, 'gsm8k_a/checkpoint-1/train_perplexities.npy', writeNpy(Float32Array.from([2, NaN, 2]), [3]));
    await expect(cmd(dir3)).rejects.toThrow(/checkpoint-1\/train_perplexities\.npy: row 1 is NaN/);
  });

  it('flags: a dataset the authors did not use, a threshold that is not a number, a bad sweep', async () => {
    await expect(prememCommand(['analyze'], { data: DATA, dataset: 'mmlu' })).rejects.toThrow(/--dataset must be gsm8k, math or toy/);
    await expect(prememCommand(['analyze'], { data: DATA, dataset: 'gsm8k', threshold: 'low' })).rejects.toThrow(/--threshold must be a number/);
    await expect(prememCommand(['analyze'], { data: DATA, dataset: 'gsm8k', sweep: '1:0:0.1' })).rejects.toThrow(/--sweep takes FROM:TO:STEP|from ≤ to/);
    await expect(prememCommand(['analyse'], { data: DATA, dataset: 'gsm8k' })).rejects.toThrow(/usage: latentlab premem analyze/);
    await expect(prememCommand(['analyze'], { data: DATA, dataset: 'gsm8k', treshold: '-2' })).rejects.toThrow(/no flag --treshold; did you mean --threshold\?/);
    await expect(prememCommand(['analyze'], { data: DATA, dataset: true })).rejects.toThrow(/--dataset needs a value/);
  });
});
