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
import { PERSONAS, personaQA } from '../toyworld/families/persona';
import { Rng } from '../toyworld/rng';
import { type Args, num, str } from './args';
import { loadModel, type Loaded } from './engine-commands';
import { tokenizerCodec } from '../methods/latentqa/codec';
import { decoderFormat } from '../methods/latentqa/decoder';
import { defaultReadLayer, readActivations, readPrompt } from '../methods/latentqa/read';
import { answer } from '../methods/latentqa/answer';
import { decoderExamples, decoderSettings, readItems, trainDecoder } from '../methods/latentqa/train';
import { byQuestion, evaluate } from '../methods/latentqa/eval';
import { dataset, split, type DecoderMeta } from '../methods/latentqa/pipeline';
import { SteerRun, repetitionRate, steerSettings, wordRate } from '../methods/latentqa/steer';
import type { ChatCodec, Message, QA } from '../methods/latentqa/types';
import { paperControlQA, type StimulusMode } from '../methods/latentqa/data';

const USAGE = `usage: latentlab latentqa <train|read|steer|eval> --model DIR [flags] --json
  train --data toy|hub|paper:DIR|FILE.jsonl [--per-control 6] [--stimulus user|completion] [--held-out 0.25] [--layer L]
        [--steps 200] [--lr 1e-3] [--rank 16] [--alpha 32] [--batch-size 4] [--seed 0] --out DIR
  read  --decoder DIR --system "..." --user "..." --question "..." [--max-new-tokens 24]
  eval  --decoder DIR [--n 100] [--seed 0] [--rows]
  steer --decoder DIR (--persona ID | --qa FILE.json [--words w1,w2] | --paper-control FILE.json --words w1,w2) [--steps 30] [--lr 1e-3] [--rank 8]
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

async function items(args: Args, meta?: DecoderMeta) {
  const data = meta?.data ?? str(args, 'data', 'toy');
  const files = data.startsWith('paper:')
    ? { system: await readFile(join(data.slice(6), 'eval/system.json'), 'utf8'), qa: await readFile(join(data.slice(6), 'eval/qa.json'), 'utf8') }
    : data !== 'toy' && data !== 'hub' ? { jsonl: await readFile(data, 'utf8') } : {};
  const perControl = meta?.perControl ?? num(args, 'per-control', 6);
  const seed = meta?.seed ?? num(args, 'seed', 0);
  const stimulus = (meta?.stimulus ?? str(args, 'stimulus', 'user')) as StimulusMode;
  if (stimulus !== 'user' && stimulus !== 'completion') throw new Error('--stimulus must be user or completion');
  const all = dataset(data, perControl, seed, stimulus, files);
  return { data, perControl, seed, stimulus, all, ...split(data, all, meta?.heldOut ?? num(args, 'held-out', 0.25), seed) };
}

/** sha256 of a model folder's model.safetensors (≤ 256 MB), so a decoder refuses weights it was not trained on. */
async function weightsHash(args: Args): Promise<string | null> {
  const f = typeof args.model === 'string' ? join(args.model, 'model.safetensors') : '';
  if (!f || !existsSync(f) || statSync(f).size > 256 << 20) return null;
  return createHash('sha256').update(await readFile(f)).digest('hex');
}

async function train(l: Loaded, codec: ChatCodec, args: Args): Promise<object> {
  const out = str(args, 'out');
  const d = await items(args);
  const layer = num(args, 'layer', defaultReadLayer(l.model.config.nLayers));
  const steps = num(args, 'steps', 200);
  const fmt = decoderFormat(codec, str(args, 'ack', 'Of course .'));
  const t0 = performance.now();
  const reads = await readItems(l.model, codec, d.train, layer);
  const examples = decoderExamples(codec, fmt, reads);
  log(args, `${reads.length} reads, ${examples.length} examples; held out: ${d.testControls.join(' ')}`);
  const settings = decoderSettings(l.model, {
    rank: num(args, 'rank', 16), alpha: num(args, 'alpha', 2 * num(args, 'rank', 16)), lr: num(args, 'lr', 1e-3),
    steps, batchSize: num(args, 'batch-size', 4), seed: d.seed,
  });
  const { run, losses } = await trainDecoder(l.model, examples, settings, steps, (r) => {
    if (r.step % 10 === 0) log(args, `step ${r.step} loss ${r.loss.toFixed(4)}`);
  });
  const tail = losses.slice(-10);
  const meta: DecoderMeta = {
    method: 'latentqa', data: d.data, perControl: d.perControl, stimulus: d.stimulus, heldOut: num(args, 'held-out', 0.25), seed: d.seed,
    layer, ack: fmt.ack, heldOutControls: d.testControls, trainControls: [...new Set(d.train.map((i) => i.control))].sort(),
    steps, finalLoss: tail.reduce((a, b) => a + b, 0) / tail.length, modelSha256: await weightsHash(args),
  };
  const peft = await exportPeft(l.model.parts.rt, l.model.config, run.lora, l.model.label);
  run.dispose();
  await mkdir(out, { recursive: true });
  await writeFile(join(out, 'adapter_config.json'), peft['adapter_config.json']);
  await writeFile(join(out, 'adapter_model.safetensors'), peft['adapter_model.safetensors']);
  await writeFile(join(out, 'latentqa.json'), JSON.stringify({ ...meta, losses }, null, 1));
  return { out, steps, examples: examples.length, first_loss: losses[0], final_loss: meta.finalLoss, layer, held_out_controls: d.testControls, seconds: (performance.now() - t0) / 1000 };
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
    const d = await items(args, meta);
    if (d.testControls.join() !== meta.heldOutControls.join()) throw new Error('the rebuilt split differs from the one the decoder was trained with');
    const fmt = decoderFormat(codec, meta.ack);
    // Toy data: fresh chats of the held-out controls (another seed than training's); other data: its held-out items.
    const testItems = meta.data === 'toy'
      ? dataset('toy', meta.perControl, num(args, 'seed', 0) + 1000, meta.stimulus).filter((i) => meta.heldOutControls.includes(i.control))
      : d.test;
    const train = await readItems(l.model, codec, d.train, meta.layer);
    const test = await readItems(l.model, codec, testItems, meta.layer);
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

/** QA pairs describing the wanted behaviour: a toy persona's, or a JSON file of [{question, answer}] / [[q, a]]. */
async function steerQA(args: Args): Promise<{ qa: QA[]; words: string[]; label: string }> {
  if (typeof args['paper-control'] === 'string') {
    const words = typeof args.words === 'string' ? args.words.split(',') : [];
    return { qa: paperControlQA(await readFile(args['paper-control'], 'utf8')), words, label: args['paper-control'] };
  }
  if (typeof args.qa === 'string') {
    const raw = JSON.parse(await readFile(args.qa, 'utf8')) as unknown[];
    const qa = raw.map((x) => (Array.isArray(x) ? { question: String(x[0]), answer: String(x[1]) } : (x as QA)));
    const words = typeof args.words === 'string' ? args.words.split(',') : [];
    return { qa, words, label: args.qa };
  }
  const id = str(args, 'persona');
  const p = PERSONAS.find((x) => x.id === id);
  if (!p) throw new Error(`--persona must be a toy persona id (${PERSONAS.map((x) => x.id).join(', ')}) or pass --qa FILE.json`);
  const qa = personaQA(p, new Rng(1)).filter((x) => x.answer !== 'no' || !x.question.startsWith('Is the'));
  return { qa, words: [p.marker, ...p.topics], label: p.id };
}

// Steering trains on STIMULI and is judged on PROMPTS: disjoint user turns (toy-world wording).
const STIMULI = ['Hello !', 'How are you ?', 'What should I do today ?', 'Tell me about Rome .', 'What is 2 plus 3 ?'];
const PROMPTS = ['Can you help me ?', 'Tell me something .', 'What do you like ?', 'Tell me about Osaka .', 'What is 6 plus 1 ?', 'Tell me about Madrid .', 'What is 4 plus 4 ?', 'Tell me about Lyon .'];

async function steer(l: Loaded, codec: ChatCodec, args: Args): Promise<object> {
  const { lora: dec, meta } = await decoder(l, args);
  const { qa, words, label } = await steerQA(args);
  const stimuli = (typeof args.stimuli === 'string' ? args.stimuli.split('|') : STIMULI).map((u): Message[] => [{ role: 'user', content: u }]);
  const prompts = typeof args.prompts === 'string' ? args.prompts.split('|') : PROMPTS;
  const fmt = decoderFormat(codec, meta.ack);
  const run = new SteerRun(l.model, dec, codec, fmt, stimuli, qa, steerSettings(l.model, meta.layer, {
    rank: num(args, 'rank', 8), alpha: num(args, 'alpha', 2 * num(args, 'rank', 8)), lr: num(args, 'lr', 1e-3), seed: num(args, 'seed', 0), qaPerStep: num(args, 'qa-per-step', 4),
  }));
  const gen = async (lora: LoraAdapter | null) => {
    const out: string[] = [];
    for (const u of prompts.slice(0, num(args, 'generations', 8))) {
      const ids = codec.encode(codec.render([{ role: 'user', content: u }], true));
      out.push(codec.decode(await l.model.generate(ids, { maxNewTokens: num(args, 'max-new-tokens', 16), stop: codec.stop, lora })));
    }
    return out;
  };
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
      behaviour: label, steps, decoder_loss_before: lossBefore, decoder_loss_after: lossAfter, losses,
      stimuli: stimuli.map((m) => m[0].content), prompts: prompts.slice(0, num(args, 'generations', 8)), trait_words: words, trait_rate_before: wordRate(before, words), trait_rate_after: wordRate(after, words),
      repetitive_before: repetitionRate(before), repetitive_after: repetitionRate(after), before, after,
    };
  } finally {
    run.dispose();
    dec.destroy();
  }
}
