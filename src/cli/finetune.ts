// `latentlab finetune`: LoRA training from the command line, writing a PEFT adapter.
import { readFile, mkdir } from 'node:fs/promises';
import { writeFileAtomic } from '../engine/files-node';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { exportPeft } from '../engine/peft';
import { FinetuneRun, type FinetuneSettings } from '../engine/finetune';
import { nextTokenLabels, type Example } from '../engine/trainer';
import type { ModelConfig } from '../engine/config';
import { type Args, idList, num, str } from './args';
import type { Loaded } from './engine-commands';

/** Every linear module: the default LoRA targets, as PEFT's "all-linear" minus the head. */
export function defaultTargets(cfg: ModelConfig): string[] {
  return cfg.arch === 'gpt2' ? ['c_attn', 'c_proj', 'c_fc'] : ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];
}

async function examples(l: Loaded, args: Args): Promise<Example[]> {
  const seqLen = num(args, 'seq-len', 64);
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

export async function finetuneCommand(l: Loaded, args: Args): Promise<object> {
  const rank = num(args, 'lora-rank', 8);
  const steps = num(args, 'steps', 100);
  const outDir = str(args, 'out');
  const settings: FinetuneSettings = {
    lora: {
      rank,
      alpha: num(args, 'lora-alpha', 2 * rank),
      targets: typeof args.targets === 'string' ? args.targets.split(',') : defaultTargets(l.model.config),
      dropout: num(args, 'lora-dropout', 0),
    },
    train: {
      lr: num(args, 'lr', 1e-3),
      optimizer: args.optimizer === 'sgd' ? 'sgd' : 'adamw',
      weightDecay: num(args, 'weight-decay', 0),
      maxGradNorm: num(args, 'max-grad-norm', 1),
      warmupSteps: num(args, 'warmup', 0),
      schedule: (str(args, 'schedule', 'constant') as 'constant' | 'linear' | 'cosine'),
      totalSteps: steps,
      recompute: flag(args, 'recompute'),
    },
    batchSize: num(args, 'batch-size', 1),
    seed: num(args, 'seed', 0),
  };
  const data = await examples(l, args);
  const ckpt = typeof args.checkpoint === 'string' ? args.checkpoint : null;
  const run = ckpt && existsSync(ckpt) ? FinetuneRun.resume(l.model, data, new Uint8Array(await readFile(ckpt))) : new FinetuneRun(l.model, data, settings);
  const every = num(args, 'checkpoint-every', 25);
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
  const peft = await exportPeft(l.model.parts.rt, l.model.config, run.lora, l.model.label);
  await mkdir(outDir, { recursive: true });
  await writeFileAtomic(join(outDir, 'adapter_config.json'), peft['adapter_config.json']);
  await writeFileAtomic(join(outDir, 'adapter_model.safetensors'), peft['adapter_model.safetensors']);
  run.dispose();
  return { losses, tokens_per_s: seconds > 0 ? tokens / seconds : 0, peak_bytes: peakBytes, steps: losses.length, out: outDir };
}
