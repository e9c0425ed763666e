// The engine behind the pipeline: a model's forward and loss gradients, as the kit's ModelAccess gives them (under
// the model's lock in the worker, with --adapter applied in the CLI).
import type { Runtime } from '../../gpu/runtime';
import type { ModelAccess } from '../kit/context';
import type { ProbeBackend } from './types';

export function probeBackend(m: Pick<ModelAccess, 'config' | 'forward' | 'gradients'>, rt: Runtime): ProbeBackend {
  return {
    d: m.config.hidden,
    nLayers: m.config.nLayers,
    rt,
    async forward(ids, hooks) {
      const r = await m.forward(ids, { hooks, logits: 'last' });
      return { last: r.logits!, cache: r.cache };
    },
    gradients: (ids, labels, hooks) => m.gradients(ids, labels, hooks),
  };
}
