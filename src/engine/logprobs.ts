// Token log-probabilities and candidate scores for a batch of sequences, computed on the GPU from one batched
// forward (engine/batch.ts): only three numbers per scored token come back, never a row of logits.

import { forwardBatch, pack, type TokenScore } from './batch';
import type { ModelParts } from './forward';
import type { LoraAdapter } from './lora';

export interface LogprobOptions {
  /** Per sequence, per token: whether it is labelled (scored). Token 0 has nothing before it and cannot be. */
  mask?: boolean[][];
  /** Without a mask: score tokens from this index on (default 1). */
  from?: number;
  lora?: LoraAdapter | null;
}

export interface SequenceLogprobs {
  /** Index of each scored token in its sequence. */
  positions: number[];
  /** log p(token_t | tokens before t), natural log. */
  logprobs: number[];
  /** How many tokens the model found more likely than token_t (0 = the most likely). */
  ranks: number[];
}

/** Log-probability and rank of every labelled token of every sequence. */
export async function tokenLogprobs(m: ModelParts, seqs: number[][], opts: LogprobOptions = {}): Promise<SequenceLogprobs[]> {
  const from = opts.from ?? 1;
  if (!Number.isInteger(from) || from < 0) throw new Error(`from must be a non-negative integer, got ${from}`);
  if (opts.mask && opts.mask.length !== seqs.length) throw new Error(`the label mask has ${opts.mask.length} rows for ${seqs.length} sequences`);
  const { starts } = pack(m.cfg, seqs);
  const scored = seqs.map((s, i) => {
    const mask = opts.mask?.[i];
    if (mask && mask.length !== s.length) throw new Error(`label mask ${i} has ${mask.length} entries for a sequence of ${s.length} tokens`);
    if (mask?.[0]) throw new Error(`label mask ${i} labels token 0, which has no tokens before it to predict it from`);
    return s.map((_, t) => t).filter((t) => (mask ? mask[t] : t >= Math.max(from, 1)));
  });
  // Token t is predicted by the logits at t - 1.
  const picks = scored.flatMap((ts, i) => ts.map((t) => ({ row: starts[i] + t - 1, targets: [seqs[i][t]] })));
  const scores = picks.length ? (await forwardBatch(m, seqs, { picks, lora: opts.lora })).scores : [];
  let k = 0;
  return scored.map((positions) => {
    const mine = scores.slice(k, (k += positions.length)).map((s) => s[0]);
    return { positions, logprobs: mine.map((s) => s.logprob), ranks: mine.map((s) => s.rank) };
  });
}

/** A question to score: after reading tokens 0..position of sequence `seq`, how likely is each candidate next? */
export interface CandidateQuery {
  seq: number;
  position: number;
  candidates: number[];
}

/** Logit, log-probability and rank of each query's candidates (option ranking, yes/no judges). */
export async function candidateScores(m: ModelParts, seqs: number[][], queries: CandidateQuery[], lora: LoraAdapter | null = null): Promise<TokenScore[][]> {
  const { starts } = pack(m.cfg, seqs);
  const width = Math.max(0, ...queries.map((q) => q.candidates.length));
  const picks = queries.map((q, i) => {
    const s = seqs[q.seq];
    if (!s) throw new Error(`query ${i} names sequence ${q.seq}, but the batch has ${seqs.length}`);
    if (!Number.isInteger(q.position) || q.position < 0 || q.position >= s.length) throw new Error(`query ${i}: position ${q.position} is outside sequence ${q.seq} (${s.length} tokens)`);
    if (q.candidates.length === 0) throw new Error(`query ${i} has no candidate tokens`);
    // Queries with fewer candidates repeat their last one; the repeats are dropped below.
    const targets = [...q.candidates, ...Array(width - q.candidates.length).fill(q.candidates[q.candidates.length - 1])];
    return { row: starts[q.seq] + q.position, targets };
  });
  if (!picks.length) return [];
  const { scores } = await forwardBatch(m, seqs, { picks, lora });
  return scores.map((s, i) => s.slice(0, queries[i].candidates.length));
}
