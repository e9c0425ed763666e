// The engine's batch primitives as worker calls, on a loaded model under its lock: token log-probabilities,
// candidate scores, batched forwards and k samples per prompt (engine/batch.ts, logprobs.ts, samples.ts).
import type { BatchResult, Pick, TokenScore } from '../engine/batch';
import type { HookSpec } from '../engine/hooks';
import type { CandidateQuery, SequenceLogprobs } from '../engine/logprobs';
import type { LoraAdapter } from '../engine/lora';
import type { Sample } from '../engine/samples';
import { defaultStopIds } from '../engine/tokenizer';
import type { GenerateOptions } from './api';
import type { ModelEntry } from './model-entry';

export interface BatchCallOptions {
  /** Apply a LoRA adapter: a training run's id or a loaded adapter's id (loadAdapter). */
  adapter?: string;
}

/** generate's options (one stop list, one adapter, steering hooks), for k samples per prompt. */
export interface SampleCallOptions extends GenerateOptions {
  k: number;
  /** Text that ends a sample once its decoded continuation contains it (needs the tokenizer). */
  stopStrings?: string[];
}

export interface SampleResult extends Sample {
  /** Decoded text (empty when the model has no tokenizer). */
  text: string;
}

export interface BatchApi {
  /** Log-probability and rank of every labelled token (mask, or every token from `from` on) of each sequence. */
  logprobs(modelId: string, seqs: number[][], opts?: BatchCallOptions & { mask?: boolean[][]; from?: number }): Promise<SequenceLogprobs[]>;
  /** Logit, log-probability and rank of candidate next tokens at chosen positions (option ranking, judges). */
  candidateScores(modelId: string, seqs: number[][], queries: CandidateQuery[], opts?: BatchCallOptions): Promise<TokenScore[][]>;
  /** Several prompts in one forward: per prompt last logits (lastLogits), scored rows (picks) and hook reads. */
  forwardBatch(modelId: string, seqs: number[][], opts?: BatchCallOptions & { hooks?: HookSpec[]; lastLogits?: boolean; picks?: Pick[] }): Promise<BatchResult>;
  /** k samples per prompt from one prefill each, decoded together; [prompt][sample]. */
  sample(modelId: string, prompts: number[][], opts: SampleCallOptions): Promise<SampleResult[][]>;
}

export function createBatchApi(deps: { entry: (id: string) => ModelEntry; loraFor: (modelId: string, id: string | undefined) => LoraAdapter | null }): BatchApi {
  const { entry, loraFor } = deps;
  return {
    async logprobs(modelId, seqs, opts = {}) {
      const e = entry(modelId);
      const lora = loraFor(modelId, opts.adapter);
      return e.lock.run(() => e.model.logprobs(seqs, { mask: opts.mask, from: opts.from, lora }));
    },
    async candidateScores(modelId, seqs, queries, opts = {}) {
      const e = entry(modelId);
      const lora = loraFor(modelId, opts.adapter);
      return e.lock.run(() => e.model.candidateScores(seqs, queries, lora));
    },
    async forwardBatch(modelId, seqs, opts = {}) {
      const e = entry(modelId);
      const lora = loraFor(modelId, opts.adapter);
      return e.lock.run(() => e.model.forwardBatch(seqs, { hooks: opts.hooks, lastLogits: opts.lastLogits, picks: opts.picks, lora }));
    },
    async sample(modelId, prompts, opts) {
      const e = entry(modelId);
      const tok = e.tokenizer;
      if (opts.stopStrings?.length && !tok) throw new Error(`${e.info.label} has no tokenizer.json, so stop strings cannot be matched: give stop token ids`);
      const lora = loraFor(modelId, opts.adapter);
      const stop = opts.stop ?? defaultStopIds(e.info.config, tok);
      const decode = tok ? (ids: number[]) => tok.decode(ids) : undefined;
      const out = await e.lock.run(() => e.model.sample(prompts, { ...opts, stop, decode, lora }));
      return out.map((row) => row.map((s) => ({ ...s, text: decode ? decode(s.ids) : '' })));
    },
  };
}
