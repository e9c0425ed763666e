// `--model` for the CLI: a model folder, a .gguf file, or a Hub id (owner/name[@revision]) downloaded into
// the folder cache. Also --dtype, --hub-url, --token, --revision, --cache-dir and --gpu-budget-mb.
import { stat } from 'node:fs/promises';
import type { Gpu } from '../gpu/device';
import { folderFiles, rangedFile } from '../engine/files-node';
import { hubModelFiles, type Progress } from '../engine/download';
import { DEFAULT_HUB, parseHubId } from '../engine/hub';
import type { LoadOptions } from '../engine/model';
import { openFiles, openGguf, type OpenedModel } from '../engine/open-model';
import { FolderStore } from '../engine/store-node';
import { type Args, choice, positive, str } from './args';

const DTYPES = ['auto', 'f32', 'f16', 'q8', 'q4'] as const;

export function loadOptions(args: Args): LoadOptions {
  const dtype = choice(args, 'dtype', DTYPES, 'auto');
  const mb = args['gpu-budget-mb'] === undefined ? undefined : positive(args, 'gpu-budget-mb', 0);
  return { dtype, budgetBytes: mb === undefined ? undefined : mb * 2 ** 20 };
}

export function cacheStore(args: Args): FolderStore {
  return new FolderStore(typeof args['cache-dir'] === 'string' ? args['cache-dir'] : undefined);
}

export async function openModelArg(gpu: Gpu, args: Args): Promise<OpenedModel> {
  const spec = str(args, 'model');
  const opts = loadOptions(args);
  const info = await stat(spec).catch(() => null);
  if (info?.isDirectory()) return openFiles(gpu, folderFiles(spec), opts);
  if (info?.isFile()) {
    if (!spec.endsWith('.gguf')) throw new Error(`--model ${spec} is a file but not a .gguf file; give a model folder, a .gguf file or a Hub id (owner/name)`);
    return openGguf(gpu, (await rangedFile(spec))!, spec, opts);
  }
  const id = parseHubId(spec);
  if (!id) throw new Error(`--model ${spec}: no such folder or file, and not a Hub id (owner/name[@revision])`);
  const files = await hubModelFiles(id.repo, {
    baseUrl: str(args, 'hub-url', process.env.HF_ENDPOINT ?? DEFAULT_HUB),
    revision: str(args, 'revision', id.revision ?? 'main'),
    token: typeof args.token === 'string' ? args.token : process.env.HF_TOKEN,
    store: cacheStore(args),
    onProgress: args.quiet ? undefined : progressPrinter(),
    onWait: (message) => process.stderr.write(`note: ${message}\n`),
  });
  return openFiles(gpu, files, opts);
}

/** Progress on stderr: each file when it completes, and every 10% of the whole. */
function progressPrinter(): (p: Progress) => void {
  let lastTenth = -1;
  let lastFile = '';
  const mb = (n: number) => (n / 2 ** 20).toFixed(1);
  return (p) => {
    const tenth = p.total > 0 ? Math.floor((10 * p.loaded) / p.total) : 0;
    const fileDone = p.fileLoaded === p.fileTotal && p.file !== lastFile;
    if (tenth === lastTenth && !fileDone) return;
    lastTenth = tenth;
    if (fileDone) lastFile = p.file;
    process.stderr.write(`download: ${p.file} ${mb(p.fileLoaded)}/${mb(p.fileTotal)} MiB, total ${mb(p.loaded)}/${mb(p.total)} MiB${p.cached ? ` (${mb(p.cached)} MiB from cache)` : ''}\n`);
  };
}
