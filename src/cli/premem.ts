// `latentlab premem analyze --data DIR --dataset gsm8k|math [--threshold P] [--sweep [FROM:TO:STEP]] --json`:
// pre-memorization accuracy vs test accuracy over every checkpoint of every run of the dataset found in DIR (the
// authors' layout; src/methods/premem/method.ts). This file only lists the folder and turns flags into the request.
import { openAsBlob } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import premem from '../methods/premem/method';
import type { SweepRange } from '../methods/premem/metric';
import type { Args } from './args';
import { checkFlags, num, str } from './args';
import { nodeContext } from './method-context';

const FLAGS = ['data', 'dataset', 'threshold', 'sweep', 'json', 'quiet'];
const USAGE = 'usage: latentlab premem analyze --data DIR --dataset gsm8k|math [--threshold P] [--sweep [FROM:TO:STEP]] --json';

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

export async function prememCommand(words: string[], args: Args): Promise<object> {
  if (words.length !== 1 || words[0] !== 'analyze') throw new Error(USAGE);
  checkFlags('premem analyze', args, FLAGS);
  const data = str(args, 'data');
  const dataset = str(args, 'dataset');
  if (dataset !== 'gsm8k' && dataset !== 'math') throw new Error(`--dataset must be gsm8k or math, got "${dataset}"`);
  const threshold = args.threshold === undefined ? undefined : num(args, 'threshold', NaN);
  const onProgress = args.quiet ? undefined : (p: { stage: string; done: number; total: number }) => process.stderr.write(`${p.stage}: ${p.done}/${p.total}\n`);
  const ctx = nodeContext({ loaded: null, modelDir: null, gpu: null, onProgress });
  try {
    return await premem.calls.analyze(ctx, { files: await folderBlobs(data), label: data, dataset, threshold, sweep: sweepOf(args.sweep) });
  } finally {
    ctx.close();
  }
}
