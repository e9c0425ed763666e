// `latentlab latentqa train|read|steer|eval`: LatentQA (src/methods/latentqa/method.ts) from the command line. This
// file only turns flags into the method's requests and its results into the CLI's JSON; the steps are the method's.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Gpu } from '../gpu/device';
import { describeAdapter } from '../gpu/device';
import { type Args, num, str } from './args';
import { loadModel } from './engine-commands';
import { nodeContext } from './method-context';
import latentqa, { type LqaSteerRequest } from '../methods/latentqa/method';
import { paperControlQA, type StimulusMode } from '../methods/latentqa/data';
import type { QA } from '../methods/latentqa/types';
import type { MethodContext } from '../methods/kit/context';

const USAGE = `usage: latentlab latentqa <train|read|steer|eval> --model DIR [flags] --json
  train --data toy|hub|paper:DIR|FILE.jsonl [--per-control 6] [--stimulus user|completion] [--held-out 0.25] [--layer L]
        [--steps 200] [--lr 1e-3] [--rank 16] [--alpha 32] [--batch-size 4] [--seed 0] --out DIR
  read  --decoder DIR --system "..." --user "..." --question "..." [--max-new-tokens 24]
  eval  --decoder DIR [--n 100] [--seed 0] [--rows]
  steer --decoder DIR (--persona ID | --sentiment | --qa FILE.json [--words w1,w2] | --paper-control FILE.json --words w1,w2) [--steps 30] [--lr 1e-3] [--rank 8]
        [--stimuli 'u1|u2'] (trained on) [--prompts 'u1|u2'] (generated from) [--generations 8] [--out DIR]`;

type Calls = typeof latentqa.calls;

export async function latentqaCommand(words: string[], args: Args, gpu: Gpu): Promise<object> {
  const sub = words[0] ?? '';
  const handler = { train, read, eval: evalCmd, steer }[sub];
  if (!handler) throw new Error(sub ? `unknown latentqa command "${sub}"\n${USAGE}` : USAGE);
  process.stderr.write(`adapter: ${describeAdapter(gpu)}\n`);
  const l = await loadModel(gpu, args);
  const ctx = nodeContext({ loaded: l, modelDir: typeof args.model === 'string' ? args.model : null, gpu, onProgress: (p) => log(args, p) });
  try {
    return await handler(ctx, latentqa.calls, args);
  } finally {
    ctx.close();
    l.lora?.destroy();
    l.model.dispose();
  }
}

/** Progress on stderr: every 10th training step, each eval row, each steering step. */
function log(args: Args, p: { stage: string; done: number; total: number; detail?: unknown }) {
  if (args.quiet) return;
  const d = p.detail as Record<string, unknown> | undefined;
  let line = '';
  if (p.stage === 'train' && p.done % 10 === 0) line = `step ${p.done} loss ${(d!.loss as number).toFixed(4)}`;
  else if (p.stage === 'steer') line = `step ${p.done} decoder loss ${(d!.loss as number).toFixed(4)}`;
  else if (p.stage === 'eval') line = `${p.done - 1} ${d!.control} | ${d!.question} | want "${d!.answer}" | got "${d!.decoded}" | text-only "${d!.textOnly}" | untrained "${d!.untrained}"`;
  if (line) process.stderr.write(line + '\n');
}

async function writeFiles(dir: string, files: Record<string, string | Uint8Array>): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [name, data] of Object.entries(files)) await writeFile(join(dir, name), data);
}

async function train(ctx: MethodContext, calls: Calls, args: Args): Promise<object> {
  const out = str(args, 'out');
  const rank = num(args, 'rank', 16);
  const t0 = performance.now();
  const started = await calls.train(ctx, {
    data: str(args, 'data', 'toy'), perControl: num(args, 'per-control', 6), seed: num(args, 'seed', 0), stimulus: str(args, 'stimulus', 'user') as StimulusMode,
    heldOut: num(args, 'held-out', 0.25), layer: args.layer === undefined ? undefined : num(args, 'layer', 0), steps: num(args, 'steps', 200),
    ack: str(args, 'ack', 'Of course .'), rank, alpha: num(args, 'alpha', 2 * rank), lr: num(args, 'lr', 1e-3), batchSize: num(args, 'batch-size', 4),
  });
  const files = await calls.exportDecoder(ctx, {});
  await writeFiles(out, files);
  const meta = JSON.parse(files['latentqa.json'] as string) as { steps: number; finalLoss: number; layer: number; heldOutControls: string[]; losses: number[] };
  return { out, steps: meta.steps, examples: started.examples, first_loss: meta.losses[0], final_loss: meta.finalLoss, layer: meta.layer, held_out_controls: meta.heldOutControls, seconds: (performance.now() - t0) / 1000 };
}

async function read(ctx: MethodContext, calls: Calls, args: Args): Promise<object> {
  const r = await calls.read(ctx, {
    decoder: str(args, 'decoder'), system: str(args, 'system'), user: str(args, 'user'), question: str(args, 'question'),
    maxNewTokens: num(args, 'max-new-tokens', 24), untrained: true, reply: false,
  });
  return { question: r.question, answer: r.decoded, text_only: r.textOnly, untrained: r.untrained, layer: r.layer, activations: r.activations };
}

async function evalCmd(ctx: MethodContext, calls: Calls, args: Args): Promise<object> {
  const { rows, byQuestion, ...summary } = await calls.eval(ctx, { decoder: str(args, 'decoder'), n: num(args, 'n', 100), seed: num(args, 'seed', 0), maxNewTokens: num(args, 'max-new-tokens', 24) });
  return { ...summary, by_question: byQuestion, ...(args.rows ? { rows } : {}) };
}

/** The behaviour to steer toward: a shipped example (a toy persona, positive reviews) or QA pairs from a file. */
async function steerTarget(args: Args): Promise<Pick<LqaSteerRequest, 'example' | 'qa' | 'words' | 'stimuli' | 'prompts'>> {
  const words = typeof args.words === 'string' ? args.words.split(',') : [];
  const stimuli = typeof args.stimuli === 'string' ? args.stimuli.split('|') : undefined;
  const prompts = typeof args.prompts === 'string' ? args.prompts.split('|') : undefined;
  if (typeof args['paper-control'] === 'string') return { example: args['paper-control'], qa: paperControlQA(await readFile(args['paper-control'], 'utf8')), words, stimuli, prompts };
  if (typeof args.qa === 'string') {
    const raw = JSON.parse(await readFile(args.qa, 'utf8')) as unknown[];
    const qa = raw.map((x) => (Array.isArray(x) ? { question: String(x[0]), answer: String(x[1]) } : (x as QA)));
    return { example: args.qa, qa, words, stimuli, prompts };
  }
  if (args.sentiment) return { example: 'sentiment:positive' };
  return { example: `persona:${str(args, 'persona')}`, stimuli, prompts };
}

async function steer(ctx: MethodContext, calls: Calls, args: Args): Promise<object> {
  const rank = num(args, 'rank', 8);
  const r = await calls.steer(ctx, {
    decoder: str(args, 'decoder'), ...(await steerTarget(args)), steps: num(args, 'steps', 30), generations: num(args, 'generations', 8),
    rank, alpha: num(args, 'alpha', 2 * rank), lr: num(args, 'lr', 1e-3), seed: num(args, 'seed', 0), qaPerStep: num(args, 'qa-per-step', 4),
    maxNewTokens: num(args, 'max-new-tokens', 16), decoderLoss: true, exportAdapter: typeof args.out === 'string',
  });
  if (typeof args.out === 'string' && r.adapter) await writeFiles(args.out, r.adapter);
  return {
    behaviour: r.example, steps: r.steps, decoder_loss_before: r.decoderLossBefore, decoder_loss_after: r.decoderLossAfter, losses: r.losses,
    stimuli: r.stimuli, prompts: r.prompts,
    ...(r.words.length ? { trait_words: r.words, trait_rate_before: r.wordRateBefore, trait_rate_after: r.wordRateAfter } : {}),
    scores: r.scores, repetitive_before: r.repetitiveBefore, repetitive_after: r.repetitiveAfter, before: r.before, after: r.after,
  };
}
