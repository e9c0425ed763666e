// Pre-memorization accuracy as a method of the kit: `analyze` reads runs in the authors' layout (a folder the CLI
// lists, or one the user opened in the browser) and returns the points, the two r² and, if asked, the threshold sweep.
// No model is needed; the page calls it in the engine worker, the CLI in Node (src/cli/premem.ts).
import { checkCancel, needModel, needTokenizer, type MethodContext } from '../kit/context';
import { defineMethod } from '../kit/method';
import { blobFolder } from './folder';
import { analyze, defaultThreshold, DEFAULT_SWEEP, sweep, type Analysis, type SweepRange, type SweepRow } from './metric';
import { findRuns, readRun, type Run } from './runs';
import { TOY_DATASET, toyRuns, type ToyRunOptions } from './toy-runs';

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

export interface RunRequest extends ToyRunOptions {
  /** The threshold p the runs are analysed at (default −2.3, the authors' GSM8K value); the sweep comes too. */
  threshold?: number;
}

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

    /** Fine-tunes the loaded model under each configuration, measures every checkpoint, analyses the runs. */
    async run(ctx, req: RunRequest): Promise<{ files: Record<string, Uint8Array>; analysis: AnalyzeResult }> {
      const m = needModel(ctx, 'premem run');
      const tok = needTokenizer(m, 'premem run');
      const files = await m.use((model) => toyRuns(model, tok, req, ctx.progress, ctx.signal));
      const blobs = Object.fromEntries(Object.entries(files).map(([k, v]) => [k, new Blob([v as Uint8Array<ArrayBuffer>])]));
      const runs = await readRuns(ctx, { files: blobs, label: 'runs', dataset: TOY_DATASET });
      const p = req.threshold ?? -2.3;
      return { files, analysis: { ...analyze(runs, TOY_DATASET, p), sweep: sweep(runs, DEFAULT_SWEEP) } };
    },
  },
});
