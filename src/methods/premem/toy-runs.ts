// The paper's measurements on a model of our own: fine-tune it (LoRA, the engine's trainer) on toy-world arithmetic
// word problems with a written chain of thought under several configurations, and after every epoch measure per
// training question the perplexity of its gold solution (the engine's batched log-probs) and the correctness of k
// sampled solutions (the engine's k samples per prompt, one prefill each) on train and test questions. Each run is
// written in the authors' layout (runs.ts), so the same analysis reads it.
import { Rng } from '../../common/rng';
import type { Model } from '../../engine/model';
import { defaultStopIds, type Tokenizer } from '../../engine/tokenizer';
import { FinetuneRun } from '../../engine/finetune';
import { nextTokenLabels, type Example } from '../../engine/trainer';
import { arithmeticProblem, type Problem } from '../../toyworld/families/arithmetic';
import { writeNpy } from './npy';

export interface ToyConfig {
  lr: number;
  epochs: number;
}

export interface ToyRunOptions {
  configs: ToyConfig[];
  /** Training and test questions (default 32 each). */
  nTrain?: number;
  nTest?: number;
  /** Samples per question (default 4; the issue asks for ≥ 4). */
  k?: number;
  seed?: number;
  rank?: number;
  batchSize?: number;
  temperature?: number;
  topP?: number;
  maxNewTokens?: number;
  targets?: string[];
}

const DEFAULTS = { nTrain: 32, nTest: 32, k: 4, seed: 0, rank: 8, batchSize: 8, temperature: 0.8, topP: 0.95, maxNewTokens: 48 };

/** The dataset prefix of toy runs' folders: `latentlab premem analyze --dataset toy --threshold P`. */
export const TOY_DATASET = 'toy';

export interface ToyTask {
  train: Problem[];
  test: Problem[];
}

/** Distinct problems: no test question is a training question. */
export function toyTask(seed: number, nTrain: number, nTest: number): ToyTask {
  const rng = new Rng(seed);
  const seen = new Set<string>();
  const draw = (n: number) => {
    const out: Problem[] = [];
    for (let tries = 0; out.length < n; tries++) {
      if (tries > 100 * n) throw new Error(`could not draw ${n} distinct arithmetic problems`);
      const p = arithmeticProblem(rng);
      if (seen.has(p.question)) continue;
      seen.add(p.question);
      out.push(p);
    }
    return out;
  };
  return { train: draw(nTrain), test: draw(nTest) };
}

// The toy world's own document format (families/arithmetic.ts: arithmeticDoc).
export const promptText = (p: Problem) => `<bos> Question : ${p.question} Reasoning :`;
export const targetText = (p: Problem) => `${p.reasoning} Answer : ${p.answer} . <eos>`;

/** Correct when the last number of the completion is the answer (the paper checks the final answer). */
export function finalNumberIs(completion: string, answer: number): boolean {
  const nums = completion.match(/-?\d+/g);
  return nums !== null && Number(nums[nums.length - 1]) === answer;
}

export const runName = (c: ToyConfig, o: Required<Pick<ToyRunOptions, 'batchSize'>>) => `${TOY_DATASET}_arith_${c.epochs}epochs_full_lr${c.lr}_bs${o.batchSize}`;

export interface ToyProgress {
  (stage: string, done: number, total: number, detail?: unknown): void;
}

function checkOptions(o: ToyRunOptions): Required<ToyRunOptions> {
  const given = Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined)); // an absent option takes its default
  const v = { ...DEFAULTS, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'], ...given } as Required<ToyRunOptions>;
  if (!Array.isArray(v.configs) || v.configs.length === 0) throw new Error('premem run needs at least one configuration (learning rate × epochs)');
  for (const c of v.configs) {
    if (!(c.lr > 0) || !Number.isFinite(c.lr)) throw new Error(`a configuration's learning rate must be a finite number > 0, got ${c.lr}`);
    if (!Number.isInteger(c.epochs) || c.epochs < 1) throw new Error(`a configuration's epochs must be a whole number ≥ 1, got ${c.epochs}`);
  }
  for (const [name, x] of [['nTrain', v.nTrain], ['nTest', v.nTest], ['k', v.k], ['rank', v.rank], ['batchSize', v.batchSize], ['maxNewTokens', v.maxNewTokens]] as const) {
    if (!Number.isInteger(x) || x < 1) throw new Error(`${name} must be a whole number ≥ 1, got ${x}`);
  }
  return v;
}

/**
 * Runs every configuration on `model` and returns the files of each run in the authors' layout, by path
 * (`<run>/checkpoint-<step>/train_correct.npy`, ...). The model is left as it was (LoRA runs never touch its weights).
 */
export async function toyRuns(model: Model, tok: Tokenizer, opts: ToyRunOptions, progress: ToyProgress, signal: AbortSignal): Promise<Record<string, Uint8Array>> {
  const o = checkOptions(opts);
  const task = toyTask(o.seed, o.nTrain, o.nTest);
  const enc = (s: string) => tok.encode(s, { addSpecialTokens: false });
  const prompts = task.train.map((p) => enc(promptText(p)));
  const testPrompts = task.test.map((p) => enc(promptText(p)));
  const full = task.train.map((p, i) => [...prompts[i], ...enc(' ' + targetText(p))]);
  const examples: Example[] = full.map((ids, i) => ({ ids, labels: nextTokenLabels(ids, prompts[i].length) }));
  const mask = full.map((ids, i) => ids.map((_, t) => t >= prompts[i].length));
  const stop = defaultStopIds(model.config, tok);
  // Engine bug worked around (reported): a training batch encodes its examples into one pass, and an example longer
  // than the rotary table grows it, destroying the buffer the batch's earlier examples already use. Growing the table
  // to the longest example first keeps it fixed during the batch.
  model.parts.rope?.covering(Math.max(...full.map((ids) => ids.length)));
  const files: Record<string, Uint8Array> = {};
  const stepsPerEpoch = Math.ceil(o.nTrain / o.batchSize);
  const totalCheckpoints = o.configs.reduce((s, c) => s + c.epochs, 0);
  let done = 0;

  for (const c of o.configs) {
    const name = runName(c, o);
    const run = new FinetuneRun(model, examples, {
      lora: { rank: o.rank, alpha: 2 * o.rank, targets: o.targets },
      train: { lr: c.lr, schedule: 'linear', totalSteps: c.epochs * stepsPerEpoch, weightDecay: 0.01, maxGradNorm: 2 },
      batchSize: o.batchSize,
      seed: o.seed,
    });
    try {
      for (let epoch = 1; epoch <= c.epochs; epoch++) {
        for (let s = 0; s < stepsPerEpoch; s++) {
          if (signal.aborted) throw new Error('premem run cancelled');
          await run.next();
        }
        const dir = `${name}/checkpoint-${run.step}`;
        progress('measure', done, totalCheckpoints, dir);
        // gold-solution perplexity of every training question, one batched call
        const lp = await model.logprobs(full, { mask, lora: run.lora });
        const ppl = Float32Array.from(lp, (r) => Math.exp(-r.logprobs.reduce((a, b) => a + b, 0) / r.logprobs.length));
        const correct = async (ps: number[][], answers: number[], seedOffset: number) => {
          const samples = await model.sample(ps, { k: o.k, maxNewTokens: o.maxNewTokens, temperature: o.temperature, topP: o.topP, seed: o.seed + seedOffset + run.step, stop, lora: run.lora });
          const out = new Uint8Array(ps.length * o.k);
          samples.forEach((row, i) => row.forEach((smp, j) => (out[i * o.k + j] = finalNumberIs(tok.decode(smp.ids, { skipSpecialTokens: true }), answers[i]) ? 1 : 0)));
          return out;
        };
        files[`${dir}/train_perplexities.npy`] = writeNpy(ppl, [o.nTrain]);
        files[`${dir}/train_correct.npy`] = writeNpy(await correct(prompts, task.train.map((p) => p.answer), 0), [o.nTrain, o.k]);
        files[`${dir}/test_correct.npy`] = writeNpy(await correct(testPrompts, task.test.map((p) => p.answer), 1_000_003), [o.nTest, o.k]);
        files[`${dir}/answer_types.txt`] = new TextEncoder().encode(`train: k${o.k}_seed${o.seed}_temp${o.temperature}_topp${o.topP}\ntest: k${o.k}_seed${o.seed}_temp${o.temperature}_topp${o.topP}\n`);
        done++;
        progress('measure', done, totalCheckpoints, dir);
      }
    } finally {
      run.dispose();
    }
  }
  return files;
}
