// The engine behind the pipeline: a loaded Model's forward and lossGradients (the public engine API).
import type { Model } from '../../engine/model';
import { lossGradients } from '../../engine/trainer';
import type { LoraAdapter } from '../../engine/lora';
import type { ProbeBackend } from './types';

export function modelBackend(model: Model, lora: LoraAdapter | null = null): ProbeBackend {
  return {
    d: model.config.hidden,
    nLayers: model.config.nLayers,
    async forward(ids, hooks) {
      const r = await model.forward(ids, { hooks, logits: 'last', lora });
      return { last: r.logits!, cache: r.cache };
    },
    async gradients(ids, labels, hooks) {
      const r = await lossGradients(model.parts, { ids, labels }, hooks, lora);
      return { loss: r.loss, cache: r.cache };
    },
  };
}
