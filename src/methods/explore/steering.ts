// Steering by activation addition (Turner et al. 2023): a vector from the mean difference of two prompt sets at a
// residual stream, added × a coefficient at every position while generating. The same call gives the unsteered and
// the steered greedy continuation, so the page and `latentlab steer` show one computation.
import { checkIds, type MethodContext, type ModelAccess } from '../kit/context';
import { defaultStopIds } from '../../engine/tokenizer';
import { pieceAfter } from './pieces';
import type { Continuation, SteeringVectorOptions, SteerRequest, SteerResult, StreamedPiece } from './types';

const RESIDUAL = /^blocks\.(\d+)\.hook_resid_(pre|mid|post)$/;

function checkHook(m: ModelAccess, hook: string): void {
  const g = RESIDUAL.exec(hook);
  if (!g) throw new Error(`steering vectors live in a residual stream hook (blocks.L.hook_resid_pre|mid|post), not "${hook}"`);
  if (Number(g[1]) >= m.config.nLayers) throw new Error(`${hook}: ${m.label} has layers 0..${m.config.nLayers - 1}`);
}

/**
 * Mean activation at `hook` over the positive prompts minus that over the negative ones, each prompt first
 * averaged over its positions (so long prompts do not outweigh short ones).
 */
export async function steeringVector(m: ModelAccess, o: SteeringVectorOptions): Promise<Float32Array> {
  checkHook(m, o.hook);
  if (!o.positive?.length || !o.negative?.length) throw new Error('need at least one prompt in each set');
  const D = m.config.hidden;
  const mean = async (set: number[][]): Promise<Float64Array> => {
    const acc = new Float64Array(D);
    for (const ids of set) {
      if (!ids.length) throw new Error('a prompt in the sets has no tokens');
      const a = (await m.forward(ids, { hooks: [{ name: o.hook, op: 'read' }], logits: 'none' })).cache[o.hook];
      for (let p = 0; p < ids.length; p++) for (let j = 0; j < D; j++) acc[j] += a[p * D + j] / ids.length / set.length;
    }
    return acc;
  };
  const pos = await mean(o.positive);
  const neg = await mean(o.negative);
  return Float32Array.from(pos, (v, j) => v - neg[j]);
}

/** Greedy continuations of `ids`, unsteered then steered, each token streamed as progress (stage = the side). */
export async function steer(m: ModelAccess, ctx: Pick<MethodContext, 'progress' | 'signal'>, r: SteerRequest): Promise<SteerResult> {
  checkHook(m, r.hook);
  checkIds(r.ids, m.config, m.label);
  const D = m.config.hidden;
  if (!r.vector || r.vector.length !== D) throw new Error(`the steering vector has ${r.vector?.length ?? 0} entries; ${m.label}'s residual stream has ${D}`);
  const bad = Array.from(r.vector).findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new Error(`the steering vector holds ${r.vector[bad]} at entry ${bad}`);
  if (!Number.isFinite(r.coeff)) throw new Error(`the coefficient must be a finite number, got ${r.coeff}`);
  if (!Number.isInteger(r.maxNewTokens) || r.maxNewTokens < 1) throw new Error(`maxNewTokens must be a positive integer, got ${r.maxNewTokens}`);
  const stop = r.stop ?? defaultStopIds(m.config, m.tokenizer);
  const vector = Array.from(r.vector);
  const result: SteerResult = { unsteered: { ids: [], pieces: [] }, steered: { ids: [], pieces: [] }, cancelled: false };
  for (const side of ['unsteered', 'steered'] as const) {
    if (ctx.signal.aborted) {
      result.cancelled = true;
      break;
    }
    const out: Continuation = result[side];
    const context = r.ids.slice();
    const hooks = side === 'steered' ? [{ name: r.hook, op: 'add' as const, value: vector, coeff: r.coeff }] : undefined;
    out.ids = await m.generate(r.ids, { maxNewTokens: r.maxNewTokens, temperature: 0, stop, hooks }, (id) => {
      const piece: StreamedPiece = { id, text: pieceAfter(m.tokenizer, context, id), index: out.pieces.length };
      context.push(id);
      out.pieces.push(piece.text);
      ctx.progress(side, out.pieces.length, r.maxNewTokens, piece);
    });
  }
  return result;
}
