// Sampling settings (the choice itself runs on the GPU: sampling.wgsl; its uniform draws come from src/common/rng.ts).

export interface SamplingOptions {
  /** 0 = greedy. */
  temperature?: number;
  /** Keep the k most likely tokens (0 = all). */
  topK?: number;
  /** Keep the smallest set whose probability reaches p (1 = all). */
  topP?: number;
}

export function checkSampling(o: SamplingOptions): void {
  const temperature = o.temperature ?? 0;
  if (!(temperature >= 0)) throw new Error(`temperature must be ≥ 0, got ${temperature}`);
  const topP = o.topP ?? 1;
  if (!(topP > 0 && topP <= 1)) throw new Error(`top_p must be in (0, 1], got ${topP}`);
  const topK = o.topK ?? 0;
  if (!Number.isInteger(topK) || topK < 0) throw new Error(`top_k must be a non-negative integer, got ${topK}`);
}

/** The id sampling.wgsl chose, or an error when the logits held NaN or +Inf (the kernel then writes 0xffffffff). */
export function sampledToken(id: number, vocab: number): number {
  if (id < vocab) return id;
  throw new Error('the logits hold NaN or +Inf, so no token can be chosen (greedy would have returned token 0); a hook edit or the weights produced non-finite values');
}
