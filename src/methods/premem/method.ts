// Pre-memorization accuracy as a method of the kit: `analyze` reads runs in the authors' layout (a folder the CLI
// lists, or one the user opened in the browser) and returns the points, the two r² and, if asked, the threshold sweep.
// No model is needed; the page calls it in the engine worker, the CLI in Node (src/cli/premem.ts).
import { checkCancel, type MethodContext } from '../kit/context';
import { defineMethod } from '../kit/method';
import { blobFolder } from './folder';
import { analyze, defaultThreshold, DEFAULT_SWEEP, sweep, type Analysis, type SweepRange, type SweepRow } from './metric';
import { findRuns, readRun, type Run } from './runs';

export interface AnalyzeRequest {
  /** The data folder's files by path inside it (Files from a folder input, or Blobs the CLI opened). */
  files: Record<string, Blob>;
  /** The folder's name or path, for messages. */
  label: string;
  dataset: string;
  /** Memorisation threshold p; the dataset's default (−2.3 GSM8K, −1.7 MATH) when absent. */
  threshold?: number;
  /** A threshold sweep: true for the default range. */
  sweep?: SweepRange | true;
}

export type AnalyzeResult = Analysis & { sweep?: SweepRow[] };

export async function readRuns(ctx: Pick<MethodContext, 'signal' | 'progress'>, req: Pick<AnalyzeRequest, 'files' | 'label' | 'dataset'>): Promise<Run[]> {
  const folder = blobFolder(req.label, req.files);
  const locs = findRuns(folder, req.dataset);
  const runs: Run[] = [];
  for (const [i, loc] of locs.entries()) {
    checkCancel(ctx, 'reading the runs');
    ctx.progress('read', i, locs.length, loc.name);
    runs.push(await readRun(folder, loc, ctx.signal));
  }
  ctx.progress('read', locs.length, locs.length);
  return runs;
}

export default defineMethod({
  calls: {
    async analyze(ctx, req: AnalyzeRequest): Promise<AnalyzeResult> {
      if (!req?.files || typeof req.files !== 'object') throw new Error('premem analyze needs the data folder\'s files');
      if (typeof req.dataset !== 'string' || !req.dataset) throw new Error('premem analyze needs a dataset (gsm8k or math)');
      const p = req.threshold ?? defaultThreshold(req.dataset);
      const runs = await readRuns(ctx, req);
      const out: AnalyzeResult = analyze(runs, req.dataset, p);
      if (req.sweep) out.sweep = sweep(runs, req.sweep === true ? DEFAULT_SWEEP : req.sweep);
      return out;
    },
  },
});
