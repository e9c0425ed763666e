// LatentQA as a method of the kit (src/methods/kit): find and load a decoder (a PEFT LoRA on the target's own weights
// plus latentqa.json, valid only for the weights whose sha256 it records), read with it, evaluate it on held-out
// controls, train one, steer the target through it, export it. The worker (EngineApi.method) and the CLI
// (`latentlab latentqa`) both run these calls: this is the one copy of the method's steps. GPU work takes the
// model's lock step by step, so other pages' forwards slot in between; training goes through the context's training
// host (the Train page's run loop in the worker, a plain loop in Node); steering stops between steps on the signal.
import { exportPeft, importPeft } from '../../engine/peft';
import type { ModelFiles } from '../../engine/files';
import type { LoraAdapter } from '../../engine/lora';
import { FinetuneRun } from '../../engine/finetune';
import { PERSONAS } from '../../toyworld/families/persona';
import { needModel, needTokenizer, type MethodContext, type MethodRunRecord, type ModelAccess, type RunDone } from '../kit/context';
import { defineMethod } from '../kit/method';
import { tokenizerCodec } from './codec';
import { decoderFormat } from './decoder';
import { defaultReadLayer, readActivations, readPrompt } from './read';
import { answer } from './answer';
import { decoderExamples, decoderSettings, readItems } from './train';
import { byQuestion, evaluate, type EvalReport, type EvalRow } from './eval';
import { dataset, decoderMeta, evalReads, readPresets, split, type DecoderMeta, type ReadPresets } from './pipeline';
import { SteerRun, repetitionRate, steerSettings, wordRate } from './steer';
import { personaExample, qaExample, steerExample, steerGenerations, type SteerExample } from './steer-examples';
import type { StimulusMode } from './data';
import type { ChatCodec, Message, QA } from './types';

export type { EvalReport, EvalRow, ReadPresets };

/** The run kind of a decoder training run (src/methods/list.ts). */
export const RUN_KIND = 'latentqa-decoder';

export interface LqaDecoderInfo {
  /** 'shipped' (loaded from `url`) or 'trained here'. */
  source: 'shipped' | 'trained here';
  url: string | null;
  layer: number;
  steps: number;
  finalLoss: number;
  heldOutControls: string[];
}

export interface LqaStatus {
  decoder: LqaDecoderInfo | null;
  /** Why there is no decoder (none shipped, other weights, not a served folder), '' when there is one. */
  note: string;
  presets: ReadPresets;
  /** Steering examples: 'sentiment:positive' and 'persona:<id>' for every toy persona. */
  steerExamples: string[];
}

/** Every call that uses a decoder may name one (a folder in Node, a URL in the worker); default: the one in use. */
interface WithDecoder {
  decoder?: string;
}

export interface LqaReadRequest extends WithDecoder {
  system: string;
  user: string;
  question: string;
  maxNewTokens?: number;
  /** Also the untrained decoder (no LoRA) reading the same activations (default false). */
  untrained?: boolean;
  /** Also the target's own greedy reply (default true). */
  reply?: boolean;
}

/** Streamed as progress: stage 'decoded' | 'textOnly' | 'untrained' | 'reply', detail the column's text so far. */
export interface LqaReading {
  question: string;
  /** The decoder reading the target's activations. */
  decoded: string;
  /** The same decoder with the placeholders zeroed: what it answers from the question alone. */
  textOnly: string;
  untrained: string | null;
  /** The target's own greedy reply to the hidden system prompt + user turn. */
  reply: string | null;
  /** Stimulus positions read (the system prompt's are masked out). */
  activations: number;
  layer: number;
}

/** Streams each row as progress (stage 'eval', detail the row). */
export interface LqaEvalRequest extends WithDecoder {
  n: number;
  seed: number;
  maxNewTokens?: number;
}

export interface LqaTrainRequest {
  steps: number;
  /** 'toy' (the toy world's persona chats, default), 'hub' (the built-in persona set), 'paper:DIR' or a JSONL file. */
  data?: string;
  /** Chats per training control (the shipped decoder used 6). */
  perControl?: number;
  stimulus?: StimulusMode;
  heldOut?: number;
  /** Read layer (default ⌊2L/3⌋). */
  layer?: number;
  /** The decoder's assistant acknowledgement. */
  ack?: string;
  batchSize?: number;
  lr?: number;
  rank?: number;
  alpha?: number;
  /** Seeds the data, the split, the LoRA initialisation and the order of examples (default 0). */
  seed?: number;
  /** Save a checkpoint every N steps (0: only on pause; default 10; the worker's loop). */
  checkpointEvery?: number;
}

export interface LqaTrainStarted {
  /** In the worker a training run of the engine API (pauseFinetune / resumeFinetune / cancelFinetune take it). */
  runId: string;
  examples: number;
}

export interface LqaSteerRequest extends WithDecoder {
  /** 'sentiment:positive', 'persona:<id>', or any name when `qa` is given. */
  example: string;
  /** QA pairs describing the behaviour (instead of a shipped example), and its trait words. */
  qa?: QA[];
  words?: string[];
  /** User turns the steering trains on, and those it generates from (defaults: the example's). */
  stimuli?: string[];
  prompts?: string[];
  steps: number;
  lr?: number;
  rank?: number;
  alpha?: number;
  seed?: number;
  qaPerStep?: number;
  generations?: number;
  maxNewTokens?: number;
  /** Also the mean decoder loss over every stimulus and QA pair before and after (default false). */
  decoderLoss?: boolean;
  /** Also the target's steering LoRA as PEFT files (default false). */
  exportAdapter?: boolean;
}

/** Streams each step as progress (stage 'steer', detail { loss }). */
export interface LqaSteerResult {
  example: string;
  steps: number;
  stimuli: string[];
  prompts: string[];
  before: string[];
  after: string[];
  /** The example's scores of the generations (the headline first). */
  scores: { name: string; before: number; after: number }[];
  words: string[];
  wordRateBefore: number;
  wordRateAfter: number;
  repetitiveBefore: number;
  repetitiveAfter: number;
  /** Decoder loss of each step's QA pairs, before that step's update. */
  losses: number[];
  decoderLossBefore: number | null;
  decoderLossAfter: number | null;
  adapter: Record<string, string | Uint8Array> | null;
  cancelled: boolean;
}

interface Decoder {
  lora: LoraAdapter;
  meta: DecoderMeta;
  info: LqaDecoderInfo;
  /** Training losses, when it was trained here. */
  losses: number[] | null;
}

interface Session {
  codec: ChatCodec;
  decoder: Decoder | null;
  note: string;
  /** The shipped decoder was looked for (it is not looked for again). */
  looked: boolean;
}

const NAME = 'LatentQA';

const session = (ctx: MethodContext): Session => {
  const m = needModel(ctx, NAME);
  return ctx.session(
    () => ({ codec: tokenizerCodec(needTokenizer(m, NAME)), decoder: null as Decoder | null, note: '', looked: false }),
    (s) => s.decoder?.lora.destroy(),
  );
};

const setDecoder = (s: Session, d: Decoder | null) => {
  if (s.decoder && s.decoder !== d) s.decoder.lora.destroy();
  s.decoder = d;
};

/** A decoder folder's files, if its latentqa.json names these weights; else why not. */
async function loadDecoder(m: ModelAccess, files: ModelFiles, where: string): Promise<Decoder | string> {
  const metaBytes = await files.read('latentqa.json').catch(() => null);
  if (!metaBytes) return `no decoder at ${where} for ${m.label} (no latentqa.json there)`;
  const meta = JSON.parse(new TextDecoder().decode(metaBytes)) as DecoderMeta & { losses?: number[] };
  if (meta.modelSha256) {
    const sha = await m.weightsSha256();
    if (sha !== meta.modelSha256) {
      return `the decoder at ${where} was trained on other weights than ${m.label} (model.safetensors sha256 ${sha?.slice(0, 8) ?? 'unknown'}…, decoder's ${meta.modelSha256.slice(0, 8)}…)`;
    }
  }
  const { losses, ...rest } = meta;
  const lora = await m.use((model) => importPeft(model.parts.rt, model.config, files));
  return { lora, meta: rest, losses: losses ?? null, info: { source: 'shipped', url: where, layer: meta.layer, steps: meta.steps, finalLoss: meta.finalLoss, heldOutControls: meta.heldOutControls } };
}

/** The decoder shipped beside a served model (`<model folder>-latentqa/`), looked for once. */
async function findShipped(ctx: MethodContext, s: Session): Promise<void> {
  const m = needModel(ctx, NAME);
  const files = m.beside('-latentqa');
  if (!files) {
    s.note = `no decoder ships with ${m.label} (only served model folders have one beside them): train one below`;
    return;
  }
  const d = await loadDecoder(m, files, files.label);
  if (typeof d === 'string') s.note = `${d}: train one below`;
  else {
    setDecoder(s, d);
    s.note = '';
  }
}

/** The decoder a call uses: the one it names (loaded now, kept in use), else the one in use. */
async function decoderFor(ctx: MethodContext, req: WithDecoder): Promise<Decoder> {
  const s = session(ctx);
  if (req.decoder !== undefined) {
    const d = await loadDecoder(needModel(ctx, NAME), ctx.files(req.decoder), req.decoder);
    if (typeof d === 'string') throw new Error(d);
    setDecoder(s, d);
    s.looked = true;
  }
  if (!s.decoder) throw new Error(s.note || 'no decoder: train one first');
  return s.decoder;
}

const status = (s: Session): LqaStatus => ({
  decoder: s.decoder?.info ?? null,
  note: s.note,
  presets: readPresets(s.decoder?.meta.data ?? 'toy', s.decoder?.meta.heldOutControls ?? []),
  steerExamples: ['sentiment:positive', ...PERSONAS.map((p) => `persona:${p.id}`)],
});

const withDefaults = (r: LqaTrainRequest, nLayers: number): Required<LqaTrainRequest> => {
  const rank = r.rank ?? 16;
  return {
    steps: r.steps, data: r.data ?? 'toy', perControl: r.perControl ?? 1, stimulus: r.stimulus ?? 'user', heldOut: r.heldOut ?? 0.25,
    layer: r.layer ?? defaultReadLayer(nLayers), ack: r.ack ?? 'Of course .', batchSize: r.batchSize ?? 4, lr: r.lr ?? 2e-3, rank,
    alpha: r.alpha ?? 2 * rank, seed: r.seed ?? 0, checkpointEvery: r.checkpointEvery ?? 10,
  };
};

/** The text of the files a --data source needs besides its name: the paper's eval JSON, or a JSONL file. */
async function dataFiles(ctx: MethodContext, data: string): Promise<{ jsonl?: string; system?: string; qa?: string }> {
  const text = async (files: ModelFiles, path: string, where: string) => {
    const b = await files.read(path);
    if (!b) throw new Error(`${where}: not found`);
    return new TextDecoder().decode(b);
  };
  if (data.startsWith('paper:')) {
    const dir = ctx.files(data.slice(6));
    return { system: await text(dir, 'eval/system.json', `${data.slice(6)}/eval/system.json`), qa: await text(dir, 'eval/qa.json', `${data.slice(6)}/eval/qa.json`) };
  }
  if (data === 'toy' || data === 'hub') return {};
  const cut = data.lastIndexOf('/');
  return { jsonl: await text(ctx.files(cut >= 0 ? data.slice(0, cut) || '/' : '.'), data.slice(cut + 1), data) };
}

/** What a training request trains on: its data's seeded split and the decoder's chat format. */
async function recipe(ctx: MethodContext, req: Required<LqaTrainRequest>) {
  const { codec } = session(ctx);
  if (req.stimulus !== 'user' && req.stimulus !== 'completion') throw new Error(`stimulus must be user or completion, got ${String(req.stimulus)}`);
  const parts = split(req.data, dataset(req.data, req.perControl, req.seed, req.stimulus, await dataFiles(ctx, req.data)), req.heldOut, req.seed);
  return { parts, fmt: decoderFormat(codec, req.ack) };
}

/** The decoder examples of a request, read from the target: the same ones again when a run resumes. */
async function trainingExamples(ctx: MethodContext, req: Required<LqaTrainRequest>) {
  const m = needModel(ctx, NAME);
  const { codec } = session(ctx);
  const { parts, fmt } = await recipe(ctx, req);
  return m.use(async (model) => decoderExamples(codec, fmt, await readItems(model, codec, parts.train, req.layer)));
}

/** A finished run's LoRA becomes the decoder in use (its trainer state goes). */
const handOff = (ctx: MethodContext): RunDone => async (run, losses, record) => {
  const m = needModel(ctx, NAME);
  const s = session(ctx);
  const req = record.request as Required<LqaTrainRequest>;
  const { parts, fmt } = await recipe(ctx, req);
  const meta = decoderMeta({ data: req.data, perControl: req.perControl, stimulus: req.stimulus, heldOut: req.heldOut, seed: req.seed, layer: req.layer, ack: fmt.ack }, parts, losses, await m.weightsSha256());
  await m.use(async () => {
    run.trainer.destroy();
    setDecoder(s, { lora: run.lora, meta, losses, info: { source: 'trained here', url: null, layer: req.layer, steps: meta.steps, finalLoss: meta.finalLoss, heldOutControls: meta.heldOutControls } });
  });
  s.note = '';
  // open must not replace it with the shipped one.
  s.looked = true;
};

/** The behaviour a steering request aims at. */
function steerTarget(req: LqaSteerRequest): SteerExample {
  if (req.qa) return qaExample(req.example, req.qa, req.words ?? [], req.stimuli, req.prompts);
  if (req.example.startsWith('persona:') && (req.stimuli || req.prompts)) return personaExample(req.example.slice('persona:'.length), req.stimuli, req.prompts);
  return steerExample(req.example);
}

export default defineMethod({
  calls: {
    /** Looks for the decoder shipped beside the model (once per model) and says what the page can do. */
    async open(ctx, _req: Record<string, never> = {}): Promise<LqaStatus> {
      const s = session(ctx);
      if (!s.looked) {
        s.looked = true;
        await findShipped(ctx, s);
      }
      return status(s);
    },

    /** Reload the shipped decoder (after a small training run replaced it). */
    async useShipped(ctx, _req: Record<string, never> = {}): Promise<LqaStatus> {
      const s = session(ctx);
      setDecoder(s, null);
      await findShipped(ctx, s);
      return status(s);
    },

    async read(ctx, req: LqaReadRequest): Promise<LqaReading> {
      const m = needModel(ctx, NAME);
      const d = await decoderFor(ctx, req);
      const { codec } = session(ctx);
      const max = req.maxNewTokens ?? 24;
      const controlMessages: Message[] = req.system.trim() ? [{ role: 'system', content: req.system }] : [];
      const stimulus: Message[] = [{ role: 'user', content: req.user }];
      const fmt = decoderFormat(codec, d.meta.ack);
      return m.use(async (model) => {
        const a = await readActivations(model, readPrompt(codec, { controlMessages, stimulus }), d.meta.layer);
        const col = (c: 'decoded' | 'textOnly' | 'untrained' | 'reply') => (ids: number[]) => ctx.progress(c, ids.length, max, codec.decode(ids));
        const decoded = (await answer(model, d.lora, codec, fmt, a, req.question, { maxNewTokens: max, onToken: col('decoded') })).text;
        const textOnly = (await answer(model, d.lora, codec, fmt, a, req.question, { maxNewTokens: max, mode: 'zero', onToken: col('textOnly') })).text;
        const untrained = req.untrained ? (await answer(model, null, codec, fmt, a, req.question, { maxNewTokens: max, onToken: col('untrained') })).text : null;
        let reply: string | null = null;
        if (req.reply ?? true) {
          const out: number[] = [];
          await model.generate(codec.encode(codec.render([...controlMessages, ...stimulus], true)), { maxNewTokens: max, stop: codec.stop }, (id) => {
            out.push(id);
            col('reply')(out);
          });
          reply = codec.decode(out);
        }
        return { question: req.question, decoded, textOnly, untrained, reply, activations: a.positions.length, layer: d.meta.layer };
      });
    },

    /** The held-out table: decoder, text-only, untrained, chance and the linear probe on `n` (chat, QA) pairs. */
    async eval(ctx, req: LqaEvalRequest): Promise<EvalReport & { byQuestion: ReturnType<typeof byQuestion> }> {
      const m = needModel(ctx, NAME);
      const { lora, meta } = await decoderFor(ctx, req);
      const { codec } = session(ctx);
      const files = await dataFiles(ctx, meta.data);
      const report = await m.use(async (model) => {
        const { train, test } = await evalReads(model, codec, meta, req.seed, files);
        const total = Math.min(req.n, test.reduce((k, r) => k + r.item.qa.length, 0));
        return evaluate(model, lora, codec, decoderFormat(codec, meta.ack), train, test, {
          n: req.n, seed: req.seed, maxNewTokens: req.maxNewTokens, onRow: (row, i) => ctx.progress('eval', i + 1, total, row),
        });
      });
      return { ...report, byQuestion: byQuestion(report.rows) };
    },

    /** Trains a decoder once its examples are read; once done its LoRA becomes the decoder in use. */
    async train(ctx, req: LqaTrainRequest): Promise<LqaTrainStarted> {
      const m = needModel(ctx, NAME);
      const full = withDefaults(req, m.config.nLayers);
      const examples = await trainingExamples(ctx, full);
      const run = await m.use(async (model) => new FinetuneRun(model, examples, decoderSettings(model, full)));
      const record: MethodRunRecord = { kind: RUN_KIND, request: full as unknown as Record<string, unknown>, checkpointEvery: full.checkpointEvery };
      const runId = await ctx.training.start(run, full.steps, record, handOff(ctx));
      return { runId, examples: examples.length };
    },

    /** Continues a stored decoder run from its last checkpoint. */
    async resumeTraining(ctx, req: { key: string }): Promise<LqaTrainStarted> {
      let n = 0;
      const runId = await ctx.training.resume(req.key, async (record) => {
        if (record.kind !== RUN_KIND) throw new Error(`checkpoint ${req.key} is not a LatentQA decoder run`);
        const examples = await trainingExamples(ctx, record.request as unknown as Required<LqaTrainRequest>);
        n = examples.length;
        return examples;
      }, handOff(ctx));
      return { runId, examples: n };
    },

    /** Steers the target toward a behaviour through the frozen decoder; generations before and after. */
    async steer(ctx, req: LqaSteerRequest): Promise<LqaSteerResult> {
      const m = needModel(ctx, NAME);
      const d = await decoderFor(ctx, req);
      const { codec } = session(ctx);
      const ex = steerTarget(req);
      const stimuli = ex.stimuli(codec);
      const prompts = ex.prompts(codec).slice(0, req.generations ?? 8);
      const rank = req.rank ?? 8;
      const run = await m.use(async (model) => new SteerRun(model, d.lora, codec, decoderFormat(codec, d.meta.ack), stimuli, ex.qa,
        steerSettings(model, d.meta.layer, { rank, alpha: req.alpha ?? 2 * rank, lr: req.lr ?? 1e-3, seed: req.seed ?? 0, qaPerStep: req.qaPerStep ?? 4 })));
      try {
        const gen = (lora: LoraAdapter | null) => m.use((model) => steerGenerations(model, codec, prompts, lora, req.maxNewTokens ?? 16));
        const before = await gen(null);
        const decoderLossBefore = req.decoderLoss ? await m.use(() => run.decoderLoss()) : null;
        const losses: number[] = [];
        while (run.step < req.steps && !ctx.signal.aborted) {
          const r = await m.use(() => run.next());
          losses.push(r.decoderLoss);
          ctx.progress('steer', r.step, req.steps, { loss: r.decoderLoss });
        }
        const decoderLossAfter = req.decoderLoss ? await m.use(() => run.decoderLoss()) : null;
        const after = await gen(run.lora);
        const adapter = req.exportAdapter ? { ...(await m.use((model) => exportPeft(model.parts.rt, model.config, run.lora, m.label))) } : null;
        return {
          example: ex.id, steps: req.steps, stimuli: stimuli.map((x) => ('ids' in x ? codec.decode(x.ids) : x[0].content)), prompts: prompts.map((p) => p.text),
          before, after, scores: ex.scores.map((sc) => ({ name: sc.name, before: sc.measure(before), after: sc.measure(after) })),
          words: ex.words, wordRateBefore: wordRate(before, ex.words), wordRateAfter: wordRate(after, ex.words),
          repetitiveBefore: repetitionRate(before), repetitiveAfter: repetitionRate(after), losses, decoderLossBefore, decoderLossAfter,
          adapter, cancelled: ctx.signal.aborted,
        };
      } finally {
        run.dispose();
      }
    },

    /** The decoder in use as files: adapter_config.json, adapter_model.safetensors (PEFT) and latentqa.json. */
    async exportDecoder(ctx, req: WithDecoder = {}): Promise<Record<string, string | Uint8Array>> {
      const m = needModel(ctx, NAME);
      const { lora, meta, losses } = await decoderFor(ctx, req);
      const peft = await m.use((model) => exportPeft(model.parts.rt, model.config, lora, m.label));
      return { ...peft, 'latentqa.json': JSON.stringify({ ...meta, ...(losses ? { losses } : {}) }, null, 1) };
    },
  },
});
