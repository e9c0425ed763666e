// The engine's CLI commands: logits, generate, cache. Each returns the JSON object it prints.
import type { Gpu } from '../gpu/device';
import { Model } from '../engine/model';
import { defaultStopIds, Tokenizer } from '../engine/tokenizer';
import { hookShape } from '../engine/hooks';
import { type Args, choice, idList, int, num, str } from './args';
import { openModelArg } from './model-source';
import { importPeft } from '../engine/peft';
import { folderFiles } from '../engine/files-node';
import type { LoraAdapter } from '../engine/lora';
import type { ModelFiles } from '../engine/files';
import { pastContextWarning } from '../engine/rope';

export interface Loaded {
  model: Model;
  tokenizer: Tokenizer | null;
  /** --adapter: a PEFT LoRA folder applied to every forward. */
  lora: LoraAdapter | null;
  /** The model's Hub-layout files (absent for a .gguf file). */
  files?: ModelFiles;
}

/** --model: a folder, a .gguf file or a Hub id (src/cli/model-source.ts). */
export async function loadModel(gpu: Gpu, args: Args): Promise<Loaded> {
  const opened = await openModelArg(gpu, args);
  if (opened.tokenizerNote && typeof args.text === 'string') process.stderr.write(`note: ${opened.tokenizerNote}\n`);
  const past = choice(args, 'past-context', ['refuse', 'warn'], 'refuse');
  if (opened.model.parts.rope) opened.model.parts.rope.beyondContext = past;
  const lora = typeof args.adapter === 'string' ? await importPeft(opened.model.parts.rt, opened.model.config, folderFiles(args.adapter)) : null;
  return { model: opened.model, tokenizer: opened.tokenizer, lora, files: opened.files };
}

/** The command's output, with a warning when positions past the model's context were computed (--past-context warn). */
export function warned(l: Loaded, out: object): object {
  const warning = pastContextWarning(l.model.parts.rope, l.model.config);
  if (!warning) return out;
  process.stderr.write(`warning: ${warning}\n`);
  return { ...out, warning };
}

/** Token ids from --ids or --text (the latter needs the model's tokenizer). */
export function inputIds(l: Loaded, args: Args): number[] {
  if (typeof args.ids === 'string') return idList(args.ids);
  if (typeof args.text === 'string') {
    if (!l.tokenizer) throw new Error(`--text needs a tokenizer, and ${l.model.label} has no tokenizer.json: pass --ids instead`);
    return l.tokenizer.encode(args.text);
  }
  throw new Error('give the input as --ids 1,2,3 or --text "..."');
}

/** JSON would print NaN and ±Inf as null: a non-finite output is refused with where it is (masked scores are -Inf by design). */
function finite(what: string, data: Float32Array, width: number, masked = false): Float32Array {
  const bad = data.findIndex((v) => !Number.isFinite(v) && !(masked && v === -Infinity));
  if (bad >= 0) throw new Error(`${what} hold ${data[bad]} at [${Math.floor(bad / width)}, ${bad % width}] (the forward overflowed); no output printed`);
  return data;
}

function rows(flat: Float32Array, width: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < flat.length; i += width) out.push(Array.from(flat.subarray(i, i + width)));
  return out;
}

export async function logitsCommand(l: Loaded, args: Args): Promise<object> {
  const { logits } = await l.model.forward(inputIds(l, args), { lora: l.lora });
  return warned(l, { logits: rows(finite('the logits', logits!, l.model.config.vocab), l.model.config.vocab) });
}

/**
 * --max-new-tokens, capped so the sequence stays inside the model's context (a note on stderr and in the JSON says
 * so); with --past-context warn a rotary model may run past it, as that flag asks.
 */
function newTokenBudget(l: Loaded, args: Args, prompt: number): { maxNewTokens: number; note?: string } {
  const asked = int(args, 'max-new-tokens', 30, 1);
  const context = l.model.config.maxPositions;
  if (l.model.parts.rope?.beyondContext === 'warn') return { maxNewTokens: asked };
  if (prompt >= context) throw new Error(`the prompt has ${prompt} tokens and the model's context is ${context}: no room to generate`);
  if (prompt + asked <= context) return { maxNewTokens: asked };
  const note = `--max-new-tokens ${asked} capped to ${context - prompt}: the prompt's ${prompt} tokens and the new ones must fit the model's context of ${context}`;
  process.stderr.write(`note: ${note}\n`);
  return { maxNewTokens: context - prompt, note };
}

export async function generateCommand(l: Loaded, args: Args): Promise<object> {
  const ids = inputIds(l, args);
  // By default a chat stops at the end of its turn (the toy world's <|end|>, a Hub template's eos ids).
  const stop = typeof args.stop === 'string' ? idList(args.stop, 'stop') : defaultStopIds(l.model.config, l.tokenizer);
  const { maxNewTokens, note } = newTokenBudget(l, args, ids.length);
  const out = await l.model.generate(ids, {
    maxNewTokens,
    temperature: num(args, 'temperature', 0),
    topK: int(args, 'top-k', 0, 0),
    topP: num(args, 'top-p', 1),
    seed: int(args, 'seed', 0, 0),
    stop,
    lora: l.lora,
  });
  const result = l.tokenizer ? { ids: out, text: l.tokenizer.decode(out) } : { ids: out };
  return warned(l, note ? { ...result, note } : result);
}

export async function cacheCommand(l: Loaded, args: Args): Promise<object> {
  const ids = inputIds(l, args);
  const names = str(args, 'hooks').split(',').map((s) => s.trim()).filter(Boolean);
  const { cache } = await l.model.forward(ids, { hooks: names.map((name) => ({ name, op: 'read' as const })), logits: 'none', lora: l.lora });
  const activations: Record<string, { shape: number[]; data: number[] }> = {};
  for (const name of names) {
    const dims = hookShape(l.model.config, name, ids.length).dims;
    activations[name] = { shape: dims, data: Array.from(finite(name, cache[name], dims[dims.length - 1], name.endsWith('hook_attn_scores'))) };
  }
  return warned(l, { activations });
}
