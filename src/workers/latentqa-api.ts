// LatentQA (src/methods/latentqa) in the engine worker, next to the loaded model: find the decoder shipped beside a
// served model (`<model folder>-latentqa/`, valid only for the weights whose sha256 its latentqa.json records), read
// with it, evaluate it on held-out controls, train a small one, and steer the target through it. engine-api.ts mixes
// these methods into the engine API; the page reaches them through client.ts. Each GPU step takes the model's lock,
// so other pages' forwards slot in between. Training is a run of train-api.ts (progress, pause / resume / cancel
// between steps, checkpoints in IndexedDB); steering stops between steps when lqaCancel is called.

import { exportPeft, importPeft } from '../engine/peft';
import { urlFiles } from '../engine/files';
import type { LoraAdapter } from '../engine/lora';
import type { Model } from '../engine/model';
import type { Tokenizer } from '../engine/tokenizer';
import { tokenizerCodec } from '../methods/latentqa/codec';
import { decoderFormat } from '../methods/latentqa/decoder';
import { defaultReadLayer, readActivations, readPrompt } from '../methods/latentqa/read';
import { answer } from '../methods/latentqa/answer';
import { decoderExamples, decoderSettings, readItems } from '../methods/latentqa/train';
import { evaluate, type EvalReport, type EvalRow } from '../methods/latentqa/eval';
import { dataset, decoderMeta, evalReads, readPresets, split, type DecoderMeta, type ReadPresets } from '../methods/latentqa/pipeline';
import { SteerRun, repetitionRate, steerSettings } from '../methods/latentqa/steer';
import { steerExample, steerGenerations } from '../methods/latentqa/steer-examples';
import { FinetuneRun } from '../engine/finetune';
import { PERSONAS } from '../toyworld/families/persona';
import type { ChatCodec, Message } from '../methods/latentqa/types';
import type { FinetuneProgress, LoadedModel } from './api';
import type { Lock } from './lock';
import type { HandOff, MethodRuns } from './train-api';

export type { EvalReport, EvalRow, ReadPresets };

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

export interface LqaReadRequest {
  system: string;
  user: string;
  question: string;
  maxNewTokens?: number;
}

export interface LqaReading {
  question: string;
  /** The decoder reading the target's activations. */
  decoded: string;
  /** The same decoder with the placeholders zeroed: what it answers from the question alone. */
  textOnly: string;
  /** The target's own greedy reply to the hidden system prompt + user turn. */
  reply: string;
  /** Stimulus positions read (the system prompt's are masked out). */
  activations: number;
  layer: number;
}

/** A reading as it streams: which column, and its text so far. */
export type LqaToken = (column: 'decoded' | 'textOnly' | 'reply', text: string) => unknown;

export interface LqaTrainRequest {
  steps: number;
  /** 'toy' (the toy world's persona chats, default) or 'hub' (the built-in persona set for Hub instruct models). */
  data?: 'toy' | 'hub';
  /** Chats per training control (the shipped decoder used 6). */
  perControl?: number;
  batchSize?: number;
  lr?: number;
  rank?: number;
  /** Seeds the LoRA initialisation and the order of examples (default 0). */
  seed?: number;
  /** Save a checkpoint to IndexedDB every N steps (0: only on pause; default 10). */
  checkpointEvery?: number;
}

export interface LqaTrainStarted {
  /** A training run of the engine API: pauseFinetune / resumeFinetune / cancelFinetune / finetuneStatus take it. */
  runId: string;
  examples: number;
}

export interface LqaSteerRequest {
  /** A steerExamples entry. */
  example: string;
  steps: number;
  lr?: number;
  rank?: number;
  generations?: number;
  maxNewTokens?: number;
}

export interface LqaSteerResult {
  example: string;
  prompts: string[];
  before: string[];
  after: string[];
  /** The example's scores of the generations (the headline first). */
  scores: { name: string; before: number; after: number }[];
  repetitiveBefore: number;
  repetitiveAfter: number;
  /** Decoder loss of each step's QA pairs, before that step's update. */
  losses: number[];
  cancelled: boolean;
}

export type LqaStepProgress = (step: number, loss: number) => unknown;
export type LqaRowProgress = (row: EvalRow, done: number, total: number) => unknown;

export interface LatentQaApi {
  /** Looks for the decoder shipped beside the model (once per model) and says what the page can do. */
  lqaOpen(modelId: string): Promise<LqaStatus>;
  /** Reload the shipped decoder (after a small training run replaced it). */
  lqaUseShipped(modelId: string): Promise<LqaStatus>;
  lqaRead(modelId: string, req: LqaReadRequest, onToken?: LqaToken): Promise<LqaReading>;
  /** The held-out table: decoder, text-only, untrained, chance and the linear probe on `n` (chat, QA) pairs. */
  lqaEval(modelId: string, n: number, seed: number, onRow?: LqaRowProgress): Promise<Omit<EvalReport, 'rows'> & { rows: EvalRow[] }>;
  /** Starts a small decoder training run (toy persona chats or the Hub persona set) once its examples are read; once
   *  done its LoRA becomes the decoder in use (lqaOpen says so) and its checkpoint is removed. */
  lqaTrain(modelId: string, req: LqaTrainRequest, onProgress?: (p: FinetuneProgress) => void): Promise<LqaTrainStarted>;
  /** Continues a stored decoder run (listCheckpoints' records with `latentqa`) from its last checkpoint. */
  lqaResumeTraining(modelId: string, key: string, onProgress?: (p: FinetuneProgress) => void): Promise<LqaTrainStarted>;
  /** Steer the target toward an example's behaviour through the frozen decoder; generations before and after. */
  lqaSteer(modelId: string, req: LqaSteerRequest, onStep?: LqaStepProgress): Promise<LqaSteerResult>;
  /** The decoder in use as files: adapter_config.json, adapter_model.safetensors (PEFT) and latentqa.json. */
  lqaExportDecoder(modelId: string): Promise<Record<string, string | Uint8Array>>;
  /** Stops the model's steering run after its current step. */
  lqaCancel(modelId: string): Promise<void>;
}

export interface LatentQaDeps {
  entry(modelId: string): { info: LoadedModel; model: Model; tokenizer: Tokenizer | null; lock: Lock };
  /** Training runs (train-api.ts). */
  runs: MethodRuns;
  releaseCallback?: (cb: unknown) => void;
}

interface Decoder {
  lora: LoraAdapter;
  meta: DecoderMeta;
  info: LqaDecoderInfo;
}

interface Session {
  codec: ChatCodec;
  decoder: Decoder | null;
  note: string;
  /** The shipped decoder was looked for (it is not looked for again). */
  looked: boolean;
  running: Set<{ cancelled: boolean }>;
}

const withDefaults = (r: LqaTrainRequest): Required<LqaTrainRequest> => ({
  steps: r.steps, data: r.data ?? 'toy', perControl: r.perControl ?? 1, batchSize: r.batchSize ?? 4, lr: r.lr ?? 2e-3, rank: r.rank ?? 16, seed: r.seed ?? 0,
  checkpointEvery: r.checkpointEvery ?? 10,
});

/** Where a served model's decoder lives: the folder beside it, named `<model folder>-latentqa`. */
export const decoderUrl = (baseUrl: string) => `${baseUrl.replace(/\/+$/, '')}-latentqa/`;

async function sha256(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** sha256 of a served model's model.safetensors (null for other sources or sharded weights). */
async function weightsSha(info: LoadedModel): Promise<string | null> {
  if (info.origin?.kind !== 'url') return null;
  const weights = await urlFiles(info.origin.baseUrl).read('model.safetensors');
  return weights ? sha256(weights) : null;
}

export function createLatentQaApi(deps: LatentQaDeps): LatentQaApi & { forget(modelId: string): void } {
  const sessions = new Map<string, Session>();

  const session = (modelId: string): Session => {
    let s = sessions.get(modelId);
    if (!s) {
      const e = deps.entry(modelId);
      if (!e.tokenizer) throw new Error(`LatentQA reads chat text, and ${e.info.label} has no tokenizer`);
      sessions.set(modelId, (s = { codec: tokenizerCodec(e.tokenizer), decoder: null, note: '', looked: false, running: new Set() }));
    }
    return s;
  };

  const setDecoder = (s: Session, d: Decoder | null) => {
    s.decoder?.lora.destroy();
    s.decoder = d;
  };

  /** The shipped decoder beside a served model, if its latentqa.json names these weights. */
  const findShipped = async (modelId: string, s: Session): Promise<void> => {
    const e = deps.entry(modelId);
    const origin = e.info.origin;
    if (origin?.kind !== 'url') {
      s.note = `no decoder ships with ${e.info.label} (only served model folders have one beside them): train one below`;
      return;
    }
    const url = decoderUrl(origin.baseUrl);
    const files = urlFiles(url);
    const metaBytes = await files.read('latentqa.json').catch(() => null);
    if (!metaBytes) {
      s.note = `no decoder at ${url} for ${e.info.label}: train one below`;
      return;
    }
    const meta = JSON.parse(new TextDecoder().decode(metaBytes)) as DecoderMeta;
    if (meta.modelSha256) {
      const sha = await weightsSha(e.info);
      if (sha !== meta.modelSha256) {
        s.note = `the decoder at ${url} was trained for other weights than ${e.info.label} (model.safetensors sha256 ${sha?.slice(0, 8) ?? 'unknown'}…, decoder's ${meta.modelSha256.slice(0, 8)}…): train one below`;
        return;
      }
    }
    const lora = await e.lock.run(() => importPeft(e.model.parts.rt, e.model.config, files));
    setDecoder(s, { lora, meta, info: { source: 'shipped', url, layer: meta.layer, steps: meta.steps, finalLoss: meta.finalLoss, heldOutControls: meta.heldOutControls } });
    s.note = '';
  };

  const status = (s: Session): LqaStatus => ({
    decoder: s.decoder?.info ?? null,
    note: s.note,
    presets: readPresets(s.decoder?.meta.data ?? 'toy', s.decoder?.meta.heldOutControls ?? []),
    steerExamples: ['sentiment:positive', ...PERSONAS.map((p) => `persona:${p.id}`)],
  });

  /** What a training request trains on: its data's seeded split, the read layer and the decoder's chat format. */
  const recipe = (modelId: string, req: Required<LqaTrainRequest>) => {
    const { model } = deps.entry(modelId);
    return { layer: defaultReadLayer(model.config.nLayers), parts: split(req.data, dataset(req.data, req.perControl, 0, 'user'), 0.25, 0), fmt: decoderFormat(session(modelId).codec) };
  };

  /** The decoder examples of a request, read from the target: the same ones again when a run resumes. */
  const trainingExamples = async (modelId: string, req: Required<LqaTrainRequest>) => {
    const e = deps.entry(modelId);
    const { codec } = session(modelId);
    const { layer, parts, fmt } = recipe(modelId, req);
    return e.lock.run(async () => decoderExamples(codec, fmt, await readItems(e.model, codec, parts.train, layer)));
  };

  /** A finished run's LoRA becomes the decoder in use (its trainer state goes). */
  const handOff = (modelId: string): HandOff => async (run, losses, info) => {
    const e = deps.entry(modelId);
    const s = session(modelId);
    const req = withDefaults(info.latentqa!);
    const { layer, parts, fmt } = recipe(modelId, req);
    const meta = decoderMeta({ data: req.data, perControl: req.perControl, stimulus: 'user', heldOut: 0.25, seed: 0, layer, ack: fmt.ack }, parts, losses, await weightsSha(e.info));
    await e.lock.run(async () => {
      run.trainer.destroy();
      setDecoder(s, { lora: run.lora, meta, info: { source: 'trained here', url: null, layer, steps: meta.steps, finalLoss: meta.finalLoss, heldOutControls: meta.heldOutControls } });
    });
    s.note = '';
    // lqaOpen must not replace it with the shipped one.
    s.looked = true;
  };

  const needDecoder = (s: Session): Decoder => {
    if (!s.decoder) throw new Error(s.note || 'no decoder: train one first');
    return s.decoder;
  };

  const release = (cb: unknown) => cb && deps.releaseCallback?.(cb);
  /** Fire and forget: a slow page must not stall the GPU loop. */
  const tell = <A extends unknown[]>(cb: ((...a: A) => unknown) | undefined, ...a: A) => void (cb && Promise.resolve(cb(...a)).catch(() => undefined));

  /** Runs `body` with a cancel flag that lqaCancel sets. */
  const cancellable = async <T>(s: Session, body: (flag: { cancelled: boolean }) => Promise<T>): Promise<T> => {
    const flag = { cancelled: false };
    s.running.add(flag);
    try {
      return await body(flag);
    } finally {
      s.running.delete(flag);
    }
  };

  return {
    async lqaOpen(modelId) {
      const s = session(modelId);
      if (!s.looked) {
        s.looked = true;
        await findShipped(modelId, s);
      }
      return status(s);
    },

    async lqaUseShipped(modelId) {
      const s = session(modelId);
      setDecoder(s, null);
      await findShipped(modelId, s);
      return status(s);
    },

    async lqaRead(modelId, req, onToken) {
      try {
        const e = deps.entry(modelId);
        const s = session(modelId);
        const d = needDecoder(s);
        const { codec } = s;
        const max = req.maxNewTokens ?? 24;
        const controlMessages: Message[] = req.system.trim() ? [{ role: 'system', content: req.system }] : [];
        const stimulus: Message[] = [{ role: 'user', content: req.user }];
        const fmt = decoderFormat(codec, d.meta.ack);
        return await e.lock.run(async () => {
          const a = await readActivations(e.model, readPrompt(codec, { controlMessages, stimulus }), d.meta.layer);
          const col = (c: 'decoded' | 'textOnly' | 'reply') => (ids: number[]) => tell(onToken, c, codec.decode(ids));
          const decoded = (await answer(e.model, d.lora, codec, fmt, a, req.question, { maxNewTokens: max, onToken: col('decoded') })).text;
          const textOnly = (await answer(e.model, d.lora, codec, fmt, a, req.question, { maxNewTokens: max, mode: 'zero', onToken: col('textOnly') })).text;
          const ids = codec.encode(codec.render([...controlMessages, ...stimulus], true));
          const out: number[] = [];
          await e.model.generate(ids, { maxNewTokens: max, stop: codec.stop }, (id) => {
            out.push(id);
            col('reply')(out);
          });
          return { question: req.question, decoded, textOnly, reply: codec.decode(out), activations: a.positions.length, layer: d.meta.layer };
        });
      } finally {
        release(onToken);
      }
    },

    async lqaEval(modelId, n, seed, onRow) {
      try {
        const e = deps.entry(modelId);
        const s = session(modelId);
        const { lora, meta } = needDecoder(s);
        return await e.lock.run(async () => {
          const { train, test } = await evalReads(e.model, s.codec, meta, seed);
          const total = Math.min(n, test.reduce((k, r) => k + r.item.qa.length, 0));
          return evaluate(e.model, lora, s.codec, decoderFormat(s.codec, meta.ack), train, test, { n, seed, onRow: (row, i) => tell(onRow, row, i + 1, total) });
        });
      } finally {
        release(onRow);
      }
    },

    async lqaTrain(modelId, req, onProgress) {
      const e = deps.entry(modelId);
      const full = withDefaults(req);
      const examples = await trainingExamples(modelId, full);
      const run = new FinetuneRun(e.model, examples, decoderSettings(e.model, full));
      const runId = deps.runs.begin(modelId, run, full.steps, { latentqa: full }, onProgress, handOff(modelId));
      return { runId, examples: examples.length };
    },

    async lqaResumeTraining(modelId, key, onProgress) {
      let n = 0;
      const runId = await deps.runs.reopen(modelId, key, async (info) => {
        if (!info.latentqa) throw new Error(`checkpoint ${key} is not a LatentQA decoder run: resume it on the Train page`);
        const examples = await trainingExamples(modelId, withDefaults(info.latentqa));
        n = examples.length;
        return examples;
      }, onProgress, handOff(modelId));
      return { runId, examples: n };
    },

    async lqaSteer(modelId, req, onStep) {
      try {
        const e = deps.entry(modelId);
        const s = session(modelId);
        const d = needDecoder(s);
        const { codec } = s;
        const ex = steerExample(req.example);
        const prompts = ex.prompts(codec).slice(0, req.generations ?? 8);
        const rank = req.rank ?? 8;
        const run = new SteerRun(e.model, d.lora, codec, decoderFormat(codec, d.meta.ack), ex.stimuli(codec), ex.qa,
          steerSettings(e.model, d.meta.layer, { rank, alpha: 2 * rank, lr: req.lr ?? 1e-3, qaPerStep: Math.min(4, ex.qa.length) }));
        try {
          const gen = (lora: LoraAdapter | null) => e.lock.run(() => steerGenerations(e.model, codec, prompts, lora, req.maxNewTokens ?? 16));
          const before = await gen(null);
          const losses: number[] = [];
          const cancelled = await cancellable(s, async (flag) => {
            while (run.step < req.steps && !flag.cancelled) {
              const r = await e.lock.run(() => run.next());
              losses.push(r.decoderLoss);
              tell(onStep, r.step, r.decoderLoss);
            }
            return flag.cancelled;
          });
          const after = await gen(run.lora);
          return {
            example: ex.id, prompts: prompts.map((p) => p.text), before, after,
            scores: ex.scores.map((sc) => ({ name: sc.name, before: sc.measure(before), after: sc.measure(after) })),
            repetitiveBefore: repetitionRate(before), repetitiveAfter: repetitionRate(after), losses, cancelled,
          };
        } finally {
          run.dispose();
        }
      } finally {
        release(onStep);
      }
    },

    async lqaExportDecoder(modelId) {
      const e = deps.entry(modelId);
      const { lora, meta } = needDecoder(session(modelId));
      const peft = await e.lock.run(() => exportPeft(e.model.parts.rt, e.info.config, lora, e.info.label));
      return { ...peft, 'latentqa.json': JSON.stringify(meta, null, 1) };
    },

    async lqaCancel(modelId) {
      sessions.get(modelId)?.running.forEach((f) => (f.cancelled = true));
    },

    forget(modelId) {
      const s = sessions.get(modelId);
      if (!s) return;
      s.running.forEach((f) => (f.cancelled = true));
      setDecoder(s, null);
      sessions.delete(modelId);
    },
  };
}
