// `latentlab premem analyze --data DIR --dataset gsm8k|math|toy [--threshold P] [--sweep [FROM:TO:STEP]] --json`:
// pre-memorization accuracy vs test accuracy over every checkpoint of every run of the dataset found in DIR (the
// authors' layout); `latentlab premem run --model DIR --configs LR:EPOCHS,... --out DIR --json`: runs of our own on a
// toy model, written in that layout, and their analysis (src/methods/premem/method.ts). This file only lists and
// writes folders and turns flags into requests.
import { openAsBlob } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import premem from '../methods/premem/method';
import type { SweepRange } from '../methods/premem/metric';
import { TOY_DATASET, type ToyConfig } from '../methods/premem/toy-runs';
import { writeFileAtomic } from '../engine/files-node';
import type { Loaded } from './engine-commands';
import type { Args } from './args';
import { checkFlags, num, str } from './args';
import { nodeContext } from './method-context';

const FLAGS = ['data', 'dataset', 'threshold', 'sweep', 'json', 'quiet'];
// Model loading (engine-commands.ts) and the run's own flags.
const RUN_FLAGS = ['model', 'dtype', 'gpu-budget-mb', 'hub-url', 'token', 'revision', 'cache-dir', 'past-context', 'configs', 'out', 'n-train', 'n-test', 'k', 'seed', 'rank', 'batch-size', 'max-new-tokens', 'threshold', 'json', 'quiet'];
const USAGE = `usage: latentlab premem analyze --data DIR --dataset gsm8k|math|toy [--threshold P] [--sweep [FROM:TO:STEP]] --json
       latentlab premem run --model DIR --configs LR:EPOCHS,LR:EPOCHS,... --out DIR [--n-train 32] [--n-test 32] [--k 4]
                            [--seed 0] [--rank 8] [--batch-size 8] [--max-new-tokens 48] [--threshold -2.3] --json`;

/** Every file under `dir`, by its '/'-separated path inside it, opened lazily as a Blob. */
export async function folderBlobs(dir: string): Promise<Record<string, Blob>> {
  let entries;
  try {
    entries = await readdir(dir, { recursive: true, withFileTypes: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `${dir}: no such folder` : code === 'ENOTDIR' ? `${dir}: not a folder` : (e as Error).message);
  }
  const files: Record<string, Blob> = {};
  for (const e of entries.filter((x) => x.isFile())) {
    const full = join(e.parentPath, e.name);
    files[relative(dir, full).split(sep).join('/')] = await openAsBlob(full);
  }
  return files;
}

function sweepOf(v: string | boolean | undefined): SweepRange | true | undefined {
  if (v === undefined || v === false) return undefined;
  if (v === true) return true;
  const parts = v.split(':').map(Number);
  if (parts.length !== 3 || parts.some((x) => !Number.isFinite(x))) throw new Error(`--sweep takes FROM:TO:STEP (e.g. -4:0:0.1), got "${v}"`);
  return { from: parts[0], to: parts[1], step: parts[2] };
}

/** `--configs 1e-3:3,3e-3:3`: learning rate and epochs of each run. */
export function configsOf(text: string): ToyConfig[] {
  return text.split(',').map((c) => {
    const [lr, epochs, ...rest] = c.split(':').map((s) => s.trim());
    if (rest.length || !lr || !epochs || !Number.isFinite(Number(lr)) || !Number.isInteger(Number(epochs))) throw new Error(`--configs: "${c}" is not LR:EPOCHS (e.g. 1e-3:3)`);
    return { lr: Number(lr), epochs: Number(epochs) };
  });
}

/** `latentlab premem run`: the runs on --model, written to --out in the authors' layout, and their analysis. */
export async function prememRun(args: Args, loaded: Loaded): Promise<object> {
  checkFlags('premem run', args, RUN_FLAGS);
  const out = str(args, 'out');
  const int = (name: string, fallback: number) => num(args, name, fallback);
  const onProgress = args.quiet ? undefined : (p: { stage: string; done: number; total: number; detail?: unknown }) => process.stderr.write(`${p.stage}: ${p.done}/${p.total}${p.detail ? ` ${String(p.detail)}` : ''}\n`);
  const ctx = nodeContext({ loaded, modelDir: typeof args.model === 'string' ? args.model : null, gpu: null, onProgress });
  try {
    const r = await premem.calls.run(ctx, {
      configs: configsOf(str(args, 'configs')),
      nTrain: int('n-train', 32),
      nTest: int('n-test', 32),
      k: int('k', 4),
      seed: int('seed', 0),
      rank: int('rank', 8),
      batchSize: int('batch-size', 8),
      maxNewTokens: int('max-new-tokens', 48),
      threshold: num(args, 'threshold', -2.3),
    });
    for (const [path, bytes] of Object.entries(r.files)) {
      await mkdir(dirname(join(out, path)), { recursive: true });
      await writeFileAtomic(join(out, path), bytes);
    }
    return { out, ...r.analysis };
  } finally {
    ctx.close();
  }
}

export async function prememCommand(words: string[], args: Args): Promise<object> {
  if (words.length !== 1 || words[0] !== 'analyze') throw new Error(USAGE);
  checkFlags('premem analyze', args, FLAGS);
  const data = str(args, 'data');
  const dataset = str(args, 'dataset');
  if (dataset !== 'gsm8k' && dataset !== 'math' && dataset !== TOY_DATASET) throw new Error(`--dataset must be gsm8k, math or ${TOY_DATASET} (runs of latentlab premem run), got "${dataset}"`);
  const threshold = args.threshold === undefined ? undefined : num(args, 'threshold', NaN);
  const onProgress = args.quiet ? undefined : (p: { stage: string; done: number; total: number }) => process.stderr.write(`${p.stage}: ${p.done}/${p.total}\n`);
  const ctx = nodeContext({ loaded: null, modelDir: null, gpu: null, onProgress });
  try {
    return await premem.calls.analyze(ctx, { files: await folderBlobs(data), label: data, dataset, threshold, sweep: sweepOf(args.sweep) });
  } finally {
    ctx.close();
  }
}
