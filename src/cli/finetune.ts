// `latentlab finetune`: LoRA training writing a PEFT adapter, or (--full) full fine-tuning of chosen weights
// writing a Hugging Face model folder and, with --delta-out, the weight delta.
import { readFile, mkdir, access, stat } from 'node:fs/promises';
import { constants } from 'node:fs';
import { writeFileAtomic } from '../engine/files-node';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { exportPeft } from '../engine/peft';
import { decodeCheckpoint } from '../engine/checkpoint';
import { FinetuneRun, FullFinetuneRun, exportHfModel, type FinetuneSettings, type FullFinetuneSettings } from '../engine/finetune';
import { nextTokenLabels, type Example, type TrainOptions } from '../engine/trainer';
import type { ModelConfig } from '../engine/config';
import { type Args, choice, idList, int, num, str } from './args';
import type { Loaded } from './engine-commands';

/** Every linear module: the default LoRA targets, as PEFT's "all-linear" minus the head. */
export function defaultTargets(cfg: ModelConfig): string[] {
  return cfg.arch === 'gpt2' ? ['c_attn', 'c_proj', 'c_fc'] : ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];
}

const LORA_FLAGS = ['lora-rank', 'lora-alpha', 'lora-dropout', 'targets'];
const FULL_FLAGS = ['train-weights', 'delta-out'];

async function examples(l: Loaded, args: Args): Promise<Example[]> {
  const seqLen = int(args, 'seq-len', 64, 2);
  let ids: number[];
  if (typeof args.ids === 'string') ids = idList(args.ids);
  else if (typeof args['text-file'] === 'string') {
    if (!l.tokenizer) throw new Error(`--text-file needs a tokenizer, and ${l.model.label} has no tokenizer.json: pass --ids instead`);
    ids = l.tokenizer.encode(await readFile(args['text-file'], 'utf8'));
  } else throw new Error('give the training tokens as --ids 1,2,3 or --text-file F');
  if (ids.length < 2) throw new Error('training needs at least two tokens');
  const out: Example[] = [];
  for (let at = 0; at < ids.length - 1; at += seqLen) {
    const chunk = ids.slice(at, at + seqLen);
    if (chunk.length >= 2) out.push({ ids: chunk, labels: nextTokenLabels(chunk) });
  }
  return out;
}

// A bare switch: `--recompute`, not `--recompute yes`.
function flag(args: Args, name: string): boolean {
  const v = args[name];
  if (v !== undefined && v !== true) throw new Error(`--${name} takes no value, got ${String(v)}`);
  return v === true;
}

function trainOptions(args: Args, steps: number): TrainOptions {
  return {
    lr: num(args, 'lr', 1e-3),
    optimizer: choice(args, 'optimizer', ['adamw', 'sgd'] as const, 'adamw'),
    weightDecay: num(args, 'weight-decay', 0),
    maxGradNorm: num(args, 'max-grad-norm', 1),
    warmupSteps: int(args, 'warmup', 0, 0),
    schedule: choice(args, 'schedule', ['constant', 'linear', 'cosine'] as const, 'constant'),
    totalSteps: steps,
    recompute: flag(args, 'recompute'),
  };
}

/** Output paths are checked before training starts: a run must not end in a path it cannot write. */
async function writable(path: string, what: string): Promise<void> {
  await access(path, constants.W_OK).catch((e: NodeJS.ErrnoException) => {
    throw new Error(`${what} ${path} is not writable (${e.code ?? e.message}); nothing was trained`);
  });
}

/**
 * mkdir -p one level at a time: Node's recursive mkdir loops forever where a parent exists but refuses children
 * with ENOENT (/proc), which made `--out /proc/x` hang.
 */
async function makeDir(dir: string): Promise<void> {
  const info = await stat(dir).catch(() => null);
  if (info?.isDirectory()) return;
  const parent = dirname(dir);
  if (parent !== dir && !(await stat(parent).catch(() => null))) await makeDir(parent);
  await mkdir(dir);
}

/** The flag behind each run setting, for saying which flags a checkpoint overrides. */
const FLAG_OF: Record<string, string> = {
  'train.lr': 'lr', 'train.optimizer': 'optimizer', 'train.weightDecay': 'weight-decay', 'train.maxGradNorm': 'max-grad-norm',
  'train.warmupSteps': 'warmup', 'train.schedule': 'schedule', 'train.totalSteps': 'steps', 'train.recompute': 'recompute',
  batchSize: 'batch-size', seed: 'seed', weights: 'train-weights', 'lora.rank': 'lora-rank', 'lora.alpha': 'lora-alpha',
  'lora.targets': 'targets', 'lora.dropout': 'lora-dropout',
};

/** Flags given now that the checkpoint's own settings override (a resumed run keeps its settings). */
function overridden(given: object, saved: object, prefix = ''): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(given)) {
    const s = (saved as Record<string, unknown>)[k];
    const path = `${prefix}${k}`;
    if (v && typeof v === 'object' && !Array.isArray(v)) out.push(...overridden(v, (s ?? {}) as object, `${path}.`));
    else if (JSON.stringify(v) !== JSON.stringify(s)) out.push(`--${FLAG_OF[path] ?? path} (checkpoint: ${JSON.stringify(s)}, given: ${JSON.stringify(v)})`);
  }
  return out;
}

export async function finetuneCommand(l: Loaded, args: Args): Promise<object> {
  const full = flag(args, 'full');
  const misplaced = (full ? LORA_FLAGS : FULL_FLAGS).filter((f) => args[f] !== undefined);
  if (misplaced.length) {
    throw new Error(full ? `--${misplaced[0]} is a LoRA setting; --full trains the model's weights directly (choose them with --train-weights)` : `--${misplaced[0]} needs --full (full fine-tuning)`);
  }
  const steps = int(args, 'steps', 100, 1);
  const every = int(args, 'checkpoint-every', 25, 1);
  const outDir = str(args, 'out');
  const deltaOut = typeof args['delta-out'] === 'string' ? args['delta-out'] : null;
  if (args['delta-out'] === true) throw new Error('--delta-out needs a file name (e.g. --delta-out delta.safetensors)');
  const common = { train: trainOptions(args, steps), batchSize: int(args, 'batch-size', 1, 1), seed: int(args, 'seed', 0, 0) };
  let settings: FinetuneSettings | FullFinetuneSettings;
  if (full) {
    if (!l.files) throw new Error(`--full saves a Hugging Face folder with the base's config and tokenizer, and ${l.model.label} is a GGUF file: give a model folder or Hub id`);
    settings = { ...common, weights: str(args, 'train-weights', '*').split(',') };
  } else {
    const rank = int(args, 'lora-rank', 8, 1);
    settings = {
      ...common,
      lora: {
        rank,
        alpha: num(args, 'lora-alpha', 2 * rank),
        targets: typeof args.targets === 'string' ? args.targets.split(',') : defaultTargets(l.model.config),
        dropout: num(args, 'lora-dropout', 0),
      },
    };
  }
  const data = await examples(l, args);
  await makeDir(outDir).catch((e: NodeJS.ErrnoException) => {
    throw new Error(`--out ${outDir} cannot be created (${e.code ?? e.message}); nothing was trained`);
  });
  await writable(outDir, '--out');
  if (deltaOut) await writable(dirname(deltaOut), '--delta-out folder');
  const ckpt = typeof args.checkpoint === 'string' ? args.checkpoint : null;
  if (ckpt) await writable(dirname(ckpt), '--checkpoint folder');

  const resumed = ckpt && existsSync(ckpt) ? new Uint8Array(await readFile(ckpt)) : null;
  let notes: string[] = [];
  if (resumed) {
    notes = overridden(settings, decodeCheckpoint(resumed, ckpt!).settings);
    for (const n of notes) process.stderr.write(`note: resuming ${ckpt}: the checkpoint's value of ${n} is kept\n`);
  }
  const run = full
    ? resumed ? FullFinetuneRun.resume(l.model, data, resumed) : new FullFinetuneRun(l.model, data, settings as FullFinetuneSettings)
    : resumed ? FinetuneRun.resume(l.model, data, resumed) : new FinetuneRun(l.model, data, settings as FinetuneSettings);
  try {
    const losses: number[] = [];
    let tokens = 0;
    let peakBytes = 0;
    const t0 = performance.now();
    while (run.step < steps) {
      const r = await run.next();
      losses.push(r.loss);
      tokens += r.tokens;
      peakBytes = Math.max(peakBytes, r.peakBytes);
      if (!args.json) process.stderr.write(`step ${r.step} loss ${r.loss.toFixed(4)} grad-norm ${r.gradNorm.toFixed(3)}\n`);
      if (ckpt && (r.step % every === 0 || r.step === steps)) await writeFileAtomic(ckpt, await run.checkpoint());
    }
    const seconds = (performance.now() - t0) / 1000;
    const report = { losses, tokens_per_s: seconds > 0 ? tokens / seconds : 0, peak_bytes: peakBytes, steps: losses.length, out: outDir, ...(notes.length ? { overridden: notes } : {}) };
    if (run instanceof FullFinetuneRun) {
      const files = await exportHfModel(l.model, l.files!);
      const delta = deltaOut ? await run.delta() : null;
      for (const [name, bytes] of Object.entries(files)) await writeFileAtomic(join(outDir, name), bytes);
      if (delta) await writeFileAtomic(deltaOut!, delta);
      return { ...report, trained: run.tensors.flatMap((t) => t.parts.map((p) => p.name)), trained_params: run.tensors.reduce((a, t) => a + t.n, 0), ...(deltaOut ? { delta_out: deltaOut } : {}) };
    }
    const peft = await exportPeft(l.model.parts.rt, l.model.config, run.lora, l.model.label);
    await writeFileAtomic(join(outDir, 'adapter_config.json'), peft['adapter_config.json']);
    await writeFileAtomic(join(outDir, 'adapter_model.safetensors'), peft['adapter_model.safetensors']);
    return report;
  } finally {
    run.dispose();
  }
}
