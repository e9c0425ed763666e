// `latentlab lens | patch | steer`: Explore's analyses (src/methods/explore) on the --model model, through the same
// calls the page makes, printed as one JSON object (grids and vectors as plain arrays; a `warning` when --past-context
// warn let positions past the context be computed).
import explore from '../methods/explore/method';
import type { MethodProgress } from '../methods/kit/context';
import type { PatchingGrid } from '../methods/explore/types';
import { type Args, choice, idList, int, num, str } from './args';
import { type Loaded, inputIds, warned } from './engine-commands';
import { nodeContext } from './method-context';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseVectorFile } from '../methods/explore/vector-file';

function context(l: Loaded, args: Args) {
  const onProgress = args.quiet ? undefined : (p: MethodProgress) => process.stderr.write(`${p.stage}: ${p.done}/${p.total}\n`);
  return nodeContext({ loaded: l, modelDir: typeof args.model === 'string' ? args.model : null, gpu: null, onProgress });
}

/** Token ids of a prompt flag: --<name>-ids 1,2,3 or --<name> "text" (with the tokenizer, special tokens added as the page does). */
function promptIds(l: Loaded, args: Args, name: string): number[] {
  if (typeof args[`${name}-ids`] === 'string') return idList(args[`${name}-ids`] as string, `${name}-ids`);
  if (typeof args[name] === 'string') return encode(l, args[name] as string, `--${name}`, true);
  throw new Error(`give --${name} "text" or --${name}-ids 1,2,3`);
}

function encode(l: Loaded, text: string, what: string, special: boolean): number[] {
  if (!l.tokenizer) throw new Error(`${what} is text, and ${l.model.label} has no tokenizer.json: pass token ids instead`);
  return l.tokenizer.encode(text, { addSpecialTokens: special });
}

/** One token: --<name>-id N, or --<name> TEXT that is exactly one token (as the page reads its answer fields). */
function oneToken(l: Loaded, args: Args, name: string): number {
  if (args[`${name}-id`] !== undefined) return int(args, `${name}-id`, 0);
  const text = str(args, name);
  const ids = encode(l, text, `--${name}`, false);
  if (ids.length !== 1) throw new Error(`--${name} "${text}" is ${ids.length} tokens; give one token, or --${name}-id N`);
  return ids[0];
}

const grid = (g: PatchingGrid | null) => g && { rows: g.rows, cols: g.cols, rowLabels: g.rowLabels, values: Array.from(g.values) };

export async function lensCommand(l: Loaded, args: Args): Promise<object> {
  const ctx = context(l, args);
  return warned(l, await explore.calls.lens(ctx, { ids: inputIds(l, args), k: int(args, 'k', 5, 1) }));
}

export async function patchCommand(l: Loaded, args: Args): Promise<object> {
  const ctx = context(l, args);
  const sweep = choice(args, 'sweep', ['both', 'resid', 'heads'], 'both');
  const r = await explore.calls.patch(ctx, {
    clean: promptIds(l, args, 'clean'),
    corrupt: promptIds(l, args, 'corrupt'),
    answer: oneToken(l, args, 'answer'),
    wrong: oneToken(l, args, 'wrong'),
    resid: sweep !== 'heads',
    heads: sweep !== 'resid',
  });
  return warned(l, { ...r, resid: grid(r.resid), heads: grid(r.heads) });
}

/** Prompt sets: --<name> "a|b|c" (text, one prompt per |) or --<name>-ids "1,2;3,4" (one prompt per ;). */
function promptSet(l: Loaded, args: Args, name: string): number[][] {
  if (typeof args[`${name}-ids`] === 'string') return (args[`${name}-ids`] as string).split(';').map((p) => idList(p, `${name}-ids`));
  if (typeof args[name] === 'string') return (args[name] as string).split('|').map((p) => p.trim()).filter(Boolean).map((p) => encode(l, p, `--${name}`, true));
  throw new Error(`give --${name} "prompt|prompt" or --${name}-ids "1,2;3,4"`);
}

/** The vector: --vector FILE (JSON or .npy, as the page loads and saves them) or the mean difference of two prompt sets. */
async function steeringVectorOf(l: Loaded, args: Args, ctx: ReturnType<typeof context>): Promise<{ hook: string; vector: Float32Array; from: string }> {
  if (typeof args.vector === 'string') {
    const sets = ['positive', 'positive-ids', 'negative', 'negative-ids'].filter((f) => args[f] !== undefined);
    if (sets.length) throw new Error(`--vector gives the vector; --${sets[0]} would compute another: give one or the other`);
    const bytes = new Uint8Array(readFileSync(args.vector));
    const got = parseVectorFile(basename(args.vector), bytes, l.model.config.hidden);
    const hook = typeof args.hook === 'string' ? args.hook : got.hook;
    if (!hook) throw new Error(`${args.vector} names no hook: give --hook blocks.L.hook_resid_pre`);
    return { hook, vector: got.vector, from: `file ${args.vector}` };
  }
  const hook = str(args, 'hook');
  const vector = await explore.calls.steeringVector(ctx, { hook, positive: promptSet(l, args, 'positive'), negative: promptSet(l, args, 'negative') });
  return { hook, vector, from: 'mean difference' };
}

export async function steerCommand(l: Loaded, args: Args): Promise<object> {
  const ctx = context(l, args);
  const { hook, vector, from } = await steeringVectorOf(l, args, ctx);
  const coeff = num(args, 'coeff', 4);
  const r = await explore.calls.steer(ctx, { ids: inputIds(l, args), hook, vector, coeff, maxNewTokens: int(args, 'max-new-tokens', 16, 1) });
  const side = (c: { ids: number[]; pieces: string[] }) => (l.tokenizer ? { ...c, text: l.tokenizer.decode(c.ids) } : c);
  return warned(l, { hook, coeff, vectorFrom: from, vector: Array.from(vector), unsteered: side(r.unsteered), steered: side(r.steered) });
}
