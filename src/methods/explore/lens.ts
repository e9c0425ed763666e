// Logit lens (nostalgebraist 2020): the residual stream after each layer (and the embedding, before layer 0) read
// out through the model's own final norm and unembedding. Done by replacing the last block's `hook_resid_post` with
// the stream read at an earlier point: the final norm and lm_head then apply to it exactly as they do to the real
// final stream (no CPU copy of the norm or the unembedding). One forward reads every stream and gives the last row;
// one more per earlier row.
import type { ModelAccess } from '../kit/context';
import { topK, type TopToken } from '../../common/topk';
import { pieceAfter } from './pieces';
import type { LensRequest, LogitLensResult } from './types';

export async function logitLens(m: ModelAccess, req: LensRequest): Promise<LogitLensResult> {
  const t0 = performance.now();
  const { ids } = req;
  const k = req.k ?? 5;
  if (!Number.isInteger(k) || k < 1) throw new Error(`the logit lens shows k ≥ 1 tokens per cell, got ${k}`);
  const L = m.config.nLayers;
  const T = ids.length;
  const V = m.config.vocab;
  const piece = (p: number, id: number) => pieceAfter(m.tokenizer, ids.slice(0, p + 1), id);
  const streams = ['blocks.0.hook_resid_pre', ...Array.from({ length: L }, (_, i) => `blocks.${i}.hook_resid_post`)];
  const rows = ['embed', ...Array.from({ length: L }, (_, i) => `layer ${i}`)];
  const base = await m.forward(ids, { hooks: streams.slice(0, -1).map((name) => ({ name, op: 'read' })), logits: 'all' });
  const last = streams[streams.length - 1];
  const rank = (logits: Float32Array): TopToken[][] =>
    Array.from({ length: T }, (_, p) => topK(logits.subarray(p * V, (p + 1) * V), k).map((r) => ({ ...r, text: piece(p, r.id) })));
  // The model's own prediction at each position (the last row's top token), for the per-layer probability.
  const predicted = Array.from({ length: T }, (_, p) => topK(base.logits!.subarray(p * V, (p + 1) * V), 1)[0].id);
  const probOf = (logits: Float32Array): number[] => predicted.map((id, p) => softmaxAt(logits.subarray(p * V, (p + 1) * V), id));
  const top: TopToken[][][] = [];
  const final: number[][] = [];
  for (let r = 0; r < streams.length - 1; r++) {
    const out = await m.forward(ids, { hooks: [{ name: last, op: 'replace', value: base.cache[streams[r]] }], logits: 'all' });
    top.push(rank(out.logits!));
    final.push(probOf(out.logits!));
  }
  top.push(rank(base.logits!));
  final.push(probOf(base.logits!));
  return { rows, positions: T, k, top, final, ms: performance.now() - t0 };
}

function softmaxAt(row: ArrayLike<number>, id: number): number {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i] > max) max = row[i];
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i] - max);
  return Math.exp(row[id] - max) / sum;
}
