// The authors' layout (katiekang1998/reasoning_generalization, ckpts/): one folder per training run, one
// checkpoint-{step} folder per saved checkpoint with train_correct.npy [n_train, k], test_correct.npy [n_test, k] and
// train_perplexities.npy [n_train]; a run trained on part of the data has subsample_idxs.npy, the rows it used.
// Reading a run reduces each checkpoint to what the metric needs: per training row (subsample applied) the sample
// accuracy and log(log(perplexity)), and the mean test accuracy.
import type { DataFolder } from './folder';
import { readNpy, type NpyArray } from './npy';

export const CHECKPOINT_FILES = ['train_correct.npy', 'test_correct.npy', 'train_perplexities.npy'] as const;

export interface Checkpoint {
  step: number;
  /** Per training row used by the run: the fraction of its k samples that were correct. */
  accuracy: Float64Array;
  /** Per training row: log(log(perplexity of the gold solution)); −∞ where perplexity ≤ 1 (nothing left to learn). */
  logLogPerplexity: Float64Array;
  testAccuracy: number;
}

export interface Run {
  name: string;
  /** Checkpoints in training order (by step). */
  checkpoints: Checkpoint[];
}

export interface RunLocation {
  name: string;
  /** The run folder's path inside the data folder ('' prefix-free when the folder itself was picked). */
  dir: string;
  steps: number[];
}

/**
 * The runs of `dataset` in a folder: folders whose names start with the dataset and hold checkpoint-{step} folders,
 * at any depth (a folder picked in the browser lists its files under its own name).
 */
export function findRuns(folder: DataFolder, dataset: string): RunLocation[] {
  const runs = new Map<string, Set<number>>();
  for (const p of folder.paths) {
    const segs = p.split('/');
    for (let j = 1; j < segs.length - 1; j++) {
      const m = /^checkpoint-(\d+)$/.exec(segs[j]);
      if (m && segs[j - 1].startsWith(dataset)) {
        const dir = segs.slice(0, j).join('/');
        if (!runs.has(dir)) runs.set(dir, new Set());
        runs.get(dir)!.add(Number(m[1]));
      }
    }
  }
  if (runs.size === 0) {
    const top = [...new Set(folder.paths.map((p) => p.split('/').slice(0, -1).join('/')).filter(Boolean))].slice(0, 5);
    throw new Error(
      `${folder.label}: no runs for ${dataset} (folders named ${dataset}… holding checkpoint-<step> folders)` +
        (folder.paths.length ? `; folders seen: ${top.join(', ')}${top.length === 5 ? ', …' : ''}` : '; the folder is empty'),
    );
  }
  return [...runs]
    .map(([dir, steps]) => ({ name: dir.split('/').pop()!, dir, steps: [...steps].sort((a, b) => a - b) }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

async function need(folder: DataFolder, path: string): Promise<NpyArray> {
  const bytes = await folder.read(path);
  if (!bytes) throw new Error(`${folder.label}/${path}: missing (a checkpoint needs ${CHECKPOINT_FILES.join(', ')})`);
  return readNpy(`${folder.label}/${path}`, bytes);
}

const numbers = (a: NpyArray): Float64Array => (a.data instanceof BigInt64Array ? Float64Array.from(a.data, Number) : Float64Array.from(a.data));

/** Per row, the fraction of correct samples of a [rows, k] 0/1 array. */
function rowAccuracy(name: string, a: NpyArray): Float64Array {
  if (a.shape.length !== 2 || a.shape[1] === 0) throw new Error(`${name}: expected a [questions, samples] array, got shape (${a.shape.join(', ')})`);
  const [n, k] = a.shape;
  const v = numbers(a);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < k; j++) {
      const x = v[i * k + j];
      if (x !== 0 && x !== 1) throw new Error(`${name}: row ${i}, sample ${j} is ${x}; correctness must be 0 or 1`);
      s += x;
    }
    out[i] = s / k;
  }
  return out;
}

function subsampleOf(name: string, a: NpyArray, nTrain: number): Int32Array {
  if (a.dtype !== 'int32' && a.dtype !== 'int64') throw new Error(`${name}: row indices must be int32 or int64, got ${a.dtype}`);
  if (a.shape.length !== 1) throw new Error(`${name}: expected a vector of row indices, got shape (${a.shape.join(', ')})`);
  const idx = Int32Array.from(numbers(a));
  const seen = new Uint8Array(nTrain);
  idx.forEach((r, i) => {
    if (r < 0 || r >= nTrain) throw new Error(`${name}: index ${r} (entry ${i}) is outside the ${nTrain} training rows`);
    if (seen[r]) throw new Error(`${name}: row ${r} is listed twice (entry ${i})`);
    seen[r] = 1;
  });
  return idx;
}

/** Reads one run: every checkpoint's arrays, checked against each other, with the subsample applied. */
export async function readRun(folder: DataFolder, loc: RunLocation, signal?: AbortSignal): Promise<Run> {
  const at = (p: string) => (loc.dir ? `${loc.dir}/${p}` : p);
  const label = (p: string) => `${folder.label}/${at(p)}`;
  const subPath = 'subsample_idxs.npy';
  const subBytes = await folder.read(at(subPath));
  const subArray = subBytes ? readNpy(label(subPath), subBytes) : null;
  let nTrain = -1;
  let firstTrain = '';
  let subsample: Int32Array | null = null;
  const checkpoints: Checkpoint[] = [];
  for (const step of loc.steps) {
    if (signal?.aborted) throw new Error('reading the runs cancelled');
    const dir = `checkpoint-${step}`;
    const [trainPath, testPath, pplPath] = CHECKPOINT_FILES.map((f) => `${dir}/${f}`);
    const train = await need(folder, at(trainPath));
    const test = await need(folder, at(testPath));
    const ppl = await need(folder, at(pplPath));
    const acc = rowAccuracy(label(trainPath), train);
    const testAcc = rowAccuracy(label(testPath), test);
    if (ppl.shape.length !== 1) throw new Error(`${label(pplPath)}: expected a vector of perplexities, got shape (${ppl.shape.join(', ')})`);
    if (ppl.shape[0] !== acc.length) {
      throw new Error(`${label(pplPath)}: ${ppl.shape[0]} rows, but ${label(trainPath)} has ${acc.length}: the arrays of a checkpoint must have one row per training question`);
    }
    if (nTrain < 0) {
      nTrain = acc.length;
      firstTrain = label(trainPath);
      if (subArray) subsample = subsampleOf(label(subPath), subArray, nTrain);
    } else if (acc.length !== nTrain) {
      throw new Error(`${label(trainPath)}: ${acc.length} rows, but ${firstTrain} has ${nTrain}: a run's checkpoints must cover the same training questions`);
    }
    if (testAcc.length === 0) throw new Error(`${label(testPath)}: no test questions`);
    const p = numbers(ppl);
    const rows = subsample ?? Int32Array.from({ length: nTrain }, (_, i) => i);
    if (rows.length === 0) throw new Error(`${label(trainPath)}: no training rows`);
    const accuracy = new Float64Array(rows.length);
    const logLogPerplexity = new Float64Array(rows.length);
    rows.forEach((r, i) => {
      if (!Number.isFinite(p[r]) || p[r] <= 0) throw new Error(`${label(pplPath)}: row ${r} is ${p[r]}; a perplexity is a finite number > 0`);
      accuracy[i] = acc[r];
      logLogPerplexity[i] = p[r] > 1 ? Math.log(Math.log(p[r])) : -Infinity;
    });
    checkpoints.push({ step, accuracy, logLogPerplexity, testAccuracy: testAcc.reduce((a, b) => a + b, 0) / testAcc.length });
  }
  return { name: loc.name, checkpoints };
}
