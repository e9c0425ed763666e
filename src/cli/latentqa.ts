// `latentlab latentqa train|read|steer|eval`: LatentQA decoders from the command line (src/methods/latentqa).
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Gpu } from '../gpu/device';
import { describeAdapter } from '../gpu/device';
import { exportPeft, importPeft } from '../engine/peft';
import { folderFiles } from '../engine/files-node';
import type { LoraAdapter } from '../engine/lora';
import { type Args, num, str } from './args';
import { loadModel, type Loaded } from './engine-commands';
import { tokenizerCodec } from '../methods/latentqa/codec';
import { decoderFormat } from '../methods/latentqa/decoder';
import { defaultReadLayer, readActivations, readPrompt } from '../methods/latentqa/read';
import { answer } from '../methods/latentqa/answer';
import { decoderExamples, decoderSettings, readItems, trainDecoder } from '../methods/latentqa/train';
import { byQuestion, evaluate } from '../methods/latentqa/eval';
import { dataset, decoderMeta, evalReads, split, type DecoderMeta } from '../methods/latentqa/pipeline';
import { SteerRun, repetitionRate, steerSettings, wordRate } from '../methods/latentqa/steer';
import type { ChatCodec, Message, QA } from '../methods/latentqa/types';
import { personaExample, qaExample, sentimentExample, steerGenerations, type SteerExample } from '../methods/latentqa/steer-examples';
import { paperControlQA, type StimulusMode } from '../methods/latentqa/data';

const USAGE = `usage: latentlab latentqa <train|read|steer|eval> --model DIR [flags] --json
  train --data toy|hub|paper:DIR|FILE.jsonl [--per-control 6] [--stimulus user|completion] [--held-out 0.25] [--layer L]
        [--steps 200] [--lr 1e-3] [--rank 16] [--alpha 32] [--batch-size 4] [--seed 0] --out DIR
  read  --decoder DIR --system "..." --user "..." --question "..." [--max-new-tokens 24]
  eval  --decoder DIR [--n 100] [--seed 0] [--rows]
  steer --decoder DIR (--persona ID | --sentiment | --qa FILE.json [--words w1,w2] | --paper-control FILE.json --words w1,w2) [--steps 30] [--lr 1e-3] [--rank 8]
        [--stimuli 'u1|u2'] (trained on) [--prompts 'u1|u2'] (generated from) [--generations 8] [--out DIR]`;

export async function latentqaCommand(words: string[], args: Args, gpu: Gpu): Promise<object> {
  const sub = words[0] ?? '';
  const handler = { train, read, eval: evalCmd, steer }[sub];
  if (!handler) throw new Error(sub ? `unknown latentqa command "${sub}"\n${USAGE}` : USAGE);
  process.stderr.write(`adapter: ${describeAdapter(gpu)}\n`);
  const l = await loadModel(gpu, args);
  try {
    if (!l.tokenizer) throw new Error(`${l.model.label} has no tokenizer.json; LatentQA works on chat text`);
    return await handler(l, tokenizerCodec(l.tokenizer), args);
  } finally {
    l.lora?.destroy();
    l.model.dispose();
  }
}

const log = (args: Args, s: string) => {
  if (!args.quiet) process.stderr.write(s + '\n');
};

/** The files a --data source needs besides its name (the paper's eval JSON, a JSONL file). */
async function dataFiles(data: string) {
  if (data.startsWith('paper:')) return { system: await readFile(join(data.slice(6), 'eval/system.json'), 'utf8'), qa: await readFile(join(data.slice(6), 'eval/qa.json'), 'utf8') };
  return data !== 'toy' && data !== 'hub' ? { jsonl: await readFile(data, 'utf8') } : {};
}

/** sha256 of a model folder's model.safetensors (≤ 256 MB), so a decoder refuses weights it was not trained on. */
async function weightsHash(args: Args): Promise<string | null> {
  const f = typeof args.model === 'string' ? join(args.model, 'model.safetensors') : '';
  if (!f || !existsSync(f) || statSync(f).size > 256 << 20) return null;
  return createHash('sha256').update(await readFile(f)).digest('hex');
}

async function train(l: Loaded, codec: ChatCodec, args: Args): Promise<object> {
  const out = str(args, 'out');
  const data = str(args, 'data', 'toy');
  const stimulus = str(args, 'stimulus', 'user') as StimulusMode;
  if (stimulus !== 'user' && stimulus !== 'completion') throw new Error('--stimulus must be user or completion');
  const d = { data, perControl: num(args, 'per-control', 6), seed: num(args, 'seed', 0), stimulus, heldOut: num(args, 'held-out', 0.25) };
  const parts = split(data, dataset(data, d.perControl, d.seed, stimulus, await dataFiles(data)), d.heldOut, d.seed);
  const layer = num(args, 'layer', defaultReadLayer(l.model.config.nLayers));
  const steps = num(args, 'steps', 200);
  const fmt = decoderFormat(codec, str(args, 'ack', 'Of course .'));
  const t0 = performance.now();
  const reads = await readItems(l.model, codec, parts.train, layer);
  const examples = decoderExamples(codec, fmt, reads);
  log(args, `${reads.length} reads, ${examples.length} examples; held out: ${parts.testControls.join(' ')}`);
  const settings = decoderSettings(l.model, {
    rank: num(args, 'rank', 16), alpha: num(args, 'alpha', 2 * num(args, 'rank', 16)), lr: num(args, 'lr', 1e-3),
    steps, batchSize: num(args, 'batch-size', 4), seed: d.seed,
  });
  const { run, losses } = await trainDecoder(l.model, examples, settings, steps, (r) => {
    if (r.step % 10 === 0) log(args, `step ${r.step} loss ${r.loss.toFixed(4)}`);
  });
  const meta = decoderMeta({ ...d, layer, ack: fmt.ack }, parts, losses, await weightsHash(args));
  const peft = await exportPeft(l.model.parts.rt, l.model.config, run.lora, l.model.label);
  run.dispose();
  await mkdir(out, { recursive: true });
  await writeFile(join(out, 'adapter_config.json'), peft['adapter_config.json']);
  await writeFile(join(out, 'adapter_model.safetensors'), peft['adapter_model.safetensors']);
  await writeFile(join(out, 'latentqa.json'), JSON.stringify({ ...meta, losses }, null, 1));
  return { out, steps, examples: examples.length, first_loss: losses[0], final_loss: meta.finalLoss, layer, held_out_controls: parts.testControls, seconds: (performance.now() - t0) / 1000 };
}

async function decoder(l: Loaded, args: Args): Promise<{ lora: LoraAdapter; meta: DecoderMeta }> {
  const dir = str(args, 'decoder');
  const metaFile = join(dir, 'latentqa.json');
  if (!existsSync(metaFile)) throw new Error(`${dir} has no latentqa.json: train a decoder with "latentqa train --out ${dir}"`);
  const meta = JSON.parse(await readFile(metaFile, 'utf8')) as DecoderMeta;
  const sha = meta.modelSha256 ? await weightsHash(args) : null;
  if (sha && sha !== meta.modelSha256) throw new Error(`${dir} was trained on other weights than ${String(args.model)} (model.safetensors sha256 differs)`);
  return { lora: await importPeft(l.model.parts.rt, l.model.config, folderFiles(dir)), meta };
}

async function read(l: Loaded, codec: ChatCodec, args: Args): Promise<object> {
  const { lora, meta } = await decoder(l, args);
  try {
    const controlMessages: Message[] = [{ role: 'system', content: str(args, 'system') }];
    const stimulus: Message[] = [{ role: 'user', content: str(args, 'user') }];
    const a = await readActivations(l.model, readPrompt(codec, { controlMessages, stimulus }), meta.layer);
    const fmt = decoderFormat(codec, meta.ack);
    const q = str(args, 'question');
    const max = num(args, 'max-new-tokens', 24);
    return {
      question: q,
      answer: (await answer(l.model, lora, codec, fmt, a, q, { maxNewTokens: max })).text,
      text_only: (await answer(l.model, lora, codec, fmt, a, q, { maxNewTokens: max, mode: 'zero' })).text,
      untrained: (await answer(l.model, null, codec, fmt, a, q, { maxNewTokens: max })).text,
      layer: meta.layer,
      activations: a.positions.length,
    };
  } finally {
    lora.destroy();
  }
}

async function evalCmd(l: Loaded, codec: ChatCodec, args: Args): Promise<object> {
  const { lora, meta } = await decoder(l, args);
  try {
    const fmt = decoderFormat(codec, meta.ack);
    const { train, test } = await evalReads(l.model, codec, meta, num(args, 'seed', 0), await dataFiles(meta.data));
    const r = await evaluate(l.model, lora, codec, fmt, train, test, {
      n: num(args, 'n', 100), seed: num(args, 'seed', 0), maxNewTokens: num(args, 'max-new-tokens', 24),
      onRow: (row, i) => log(args, `${i} ${row.control} | ${row.question} | want "${row.answer}" | got "${row.decoded}" | text-only "${row.textOnly}" | untrained "${row.untrained}"`),
    });
    const { rows, ...summary } = r;
    return { ...summary, by_question: byQuestion(rows), ...(args.rows ? { rows } : {}) };
  } finally {
    lora.destroy();
  }
}

/** The behaviour to steer toward: a shipped example (a toy persona, positive reviews) or QA pairs from a file. */
async function steerTarget(args: Args): Promise<SteerExample> {
  const words = typeof args.words === 'string' ? args.words.split(',') : [];
  const stimuli = typeof args.stimuli === 'string' ? args.stimuli.split('|') : undefined;
  const prompts = typeof args.prompts === 'string' ? args.prompts.split('|') : undefined;
  if (typeof args['paper-control'] === 'string') return qaExample(args['paper-control'], paperControlQA(await readFile(args['paper-control'], 'utf8')), words, stimuli, prompts);
  if (typeof args.qa === 'string') {
    const raw = JSON.parse(await readFile(args.qa, 'utf8')) as unknown[];
    const qa = raw.map((x) => (Array.isArray(x) ? { question: String(x[0]), answer: String(x[1]) } : (x as QA)));
    return qaExample(args.qa, qa, words, stimuli, prompts);
  }
  if (args.sentiment) return sentimentExample();
  return personaExample(str(args, 'persona'), stimuli, prompts);
}

async function steer(l: Loaded, codec: ChatCodec, args: Args): Promise<object> {
  const { lora: dec, meta } = await decoder(l, args);
  const ex = await steerTarget(args);
  const n = num(args, 'generations', 8);
  const stimuli = ex.stimuli(codec);
  const prompts = ex.prompts(codec).slice(0, n);
  const fmt = decoderFormat(codec, meta.ack);
  const run = new SteerRun(l.model, dec, codec, fmt, stimuli, ex.qa, steerSettings(l.model, meta.layer, {
    rank: num(args, 'rank', 8), alpha: num(args, 'alpha', 2 * num(args, 'rank', 8)), lr: num(args, 'lr', 1e-3), seed: num(args, 'seed', 0), qaPerStep: num(args, 'qa-per-step', 4),
  }));
  const gen = (lora: LoraAdapter | null) => steerGenerations(l.model, codec, prompts, lora, num(args, 'max-new-tokens', 16));
  try {
    const before = await gen(null);
    const lossBefore = await run.decoderLoss();
    const steps = num(args, 'steps', 30);
    const losses: number[] = [];
    while (run.step < steps) {
      const r = await run.next();
      losses.push(r.decoderLoss);
      log(args, `step ${r.step} decoder loss ${r.decoderLoss.toFixed(4)}`);
    }
    const lossAfter = await run.decoderLoss();
    const after = await gen(run.lora);
    if (typeof args.out === 'string') {
      const peft = await exportPeft(l.model.parts.rt, l.model.config, run.lora, l.model.label);
      await mkdir(args.out, { recursive: true });
      await writeFile(join(args.out, 'adapter_config.json'), peft['adapter_config.json']);
      await writeFile(join(args.out, 'adapter_model.safetensors'), peft['adapter_model.safetensors']);
    }
    return {
      behaviour: ex.id, steps, decoder_loss_before: lossBefore, decoder_loss_after: lossAfter, losses,
      stimuli: stimuli.map((m) => ('ids' in m ? codec.decode(m.ids) : m[0].content)), prompts: prompts.map((p) => p.text),
      ...(ex.words.length ? { trait_words: ex.words, trait_rate_before: wordRate(before, ex.words), trait_rate_after: wordRate(after, ex.words) } : {}),
      scores: ex.scores.map((sc) => ({ name: sc.name, before: sc.measure(before), after: sc.measure(after) })),
      repetitive_before: repetitionRate(before), repetitive_after: repetitionRate(after), before, after,
    };
  } finally {
    run.dispose();
    dec.destroy();
  }
}
