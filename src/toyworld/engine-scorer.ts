// Drives evaluation with the LatentLab WGSL engine: next-token logits from a forward pass, greedy decoding with its KV cache.
import type { Model } from '../engine/model';
import type { Scorer } from './eval';

export function engineScorer(model: Model): Scorer {
  return {
    async nextTokenLogits(ids) {
      const r = await model.forward(ids, { logits: 'last' });
      if (!r.logits) throw new Error('engine returned no logits');
      return r.logits;
    },
    greedy(ids, maxNew, stop) {
      return model.generate(ids, { maxNewTokens: maxNew, stop, temperature: 0 });
    },
  };
}
