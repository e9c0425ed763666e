// `latentlab <cli> ...` for every method of src/methods/list.ts. A method with flags of its own has an adapter below
// (flags → its requests, its results → the CLI's JSON); any other method gets the generic form
//   latentlab <cli> <call> [--model DIR] [--request JSON | --some-name value ...] --json
// which runs `calls[call]` of its method.ts on the model (if --model is given) with the request (--request, or the
// other flags as { someName: value }, numbers and true/false parsed) and prints what the call returns.
import type { Gpu } from '../gpu/device';
import { describeAdapter } from '../gpu/device';
import type { MethodEntry } from '../methods/list';
import type { MethodProgress } from '../methods/kit/context';
import type { Args } from './args';
import { loadModel, type Loaded } from './engine-commands';
import { latentqaCommand } from './latentqa';
import { marketEntryCommand } from './market-entry';
import { prememCommand, prememRun } from './premem';
import { probesCommand } from './probes';
import { nodeContext } from './method-context';

type Adapter = (words: string[], args: Args, gpu: Gpu) => Promise<object>;

/** Flags the CLI itself reads (model loading, output), never part of a generic request. */
const GLOBAL_FLAGS = new Set(['model', 'json', 'quiet', 'dtype', 'gpu-budget-mb', 'hub-url', 'token', 'revision', 'cache-dir', 'adapter', 'past-context', 'request']);

/** Runs `f` on the model --model names, then frees it. */
async function withModel<T>(gpu: Gpu, args: Args, f: (l: Loaded) => Promise<T>): Promise<T> {
  process.stderr.write(`adapter: ${describeAdapter(gpu)}\n`);
  const l = await loadModel(gpu, args);
  try {
    return await f(l);
  } finally {
    l.lora?.destroy();
    l.model.dispose();
  }
}

const ADAPTERS: Record<string, Adapter> = {
  latentqa: latentqaCommand,
  'prop-probes': (words, args, gpu) => {
    if (words.length) throw new Error(`latentlab probes takes no subcommand (got "${words.join(' ')}")`);
    return withModel(gpu, args, (l) => probesCommand(l, args));
  },
  'market-entry': (words, args, gpu) => {
    if (words.length) throw new Error(`latentlab market-entry takes no subcommand (got "${words.join(' ')}")`);
    return marketEntryCommand(args, gpu);
  },
  premem: (words, args, gpu) => (words.length === 1 && words[0] === 'run' ? withModel(gpu, args, (l) => prememRun(args, l)) : prememCommand(words, args)),
};

/** Usage lines of the methods that have no flag adapter (the generic form), one per method. */
export function genericUsage(methods: MethodEntry[]): string {
  return methods
    .filter((m) => m.cli && !ADAPTERS[m.id])
    .map((m) => `\n  ${m.cli} <call> [--model DIR] [--request JSON | --flag value ...] --json   ${m.title} (src/methods/${m.id}/method.ts)`)
    .join('');
}

export function methodCommand(m: MethodEntry, words: string[], args: Args, gpu: Gpu): Promise<object> {
  return (ADAPTERS[m.id] ?? ((w, a, g) => genericCommand(m, w, a, g)))(words, args, gpu);
}

const camel = (s: string) => s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

function flagValue(v: string | boolean): unknown {
  if (typeof v === 'boolean' || v === 'true' || v === 'false') return v === true || v === 'true';
  const n = Number(v);
  return v.trim() !== '' && Number.isFinite(n) ? n : v;
}

/** The request of a generic call: --request JSON, or the other flags. */
function requestOf(args: Args): unknown {
  if (typeof args.request === 'string') {
    try {
      return JSON.parse(args.request);
    } catch (e) {
      throw new Error(`--request is not JSON: ${(e as Error).message}`);
    }
  }
  if (args.request === true) throw new Error('--request needs a JSON value');
  return Object.fromEntries(Object.entries(args).filter(([k]) => !GLOBAL_FLAGS.has(k)).map(([k, v]) => [camel(k), flagValue(v)]));
}

export async function genericCommand(m: MethodEntry, words: string[], args: Args, gpu: Gpu | null): Promise<object> {
  const mod = await m.load();
  const names = Object.keys(mod.calls);
  const call = words[0] ?? '';
  if (!mod.calls[call] || words.length > 1) throw new Error(`usage: latentlab ${m.cli} <${names.join('|')}> [--model DIR] [--request JSON | --flag value ...] --json`);
  const request = requestOf(args);
  const onProgress = args.quiet ? undefined : (p: MethodProgress) => process.stderr.write(`${p.stage}: ${p.done}/${p.total}\n`);
  const run = async (loaded: Loaded | null) => {
    const ctx = nodeContext({ loaded, modelDir: typeof args.model === 'string' ? args.model : null, gpu, onProgress });
    try {
      return (await mod.calls[call](ctx, request)) as object;
    } finally {
      ctx.close();
    }
  };
  if (typeof args.model === 'string') {
    if (!gpu) throw new Error('--model needs a GPU');
    return withModel(gpu, args, run);
  }
  return run(null);
}
