// A model's identity across page reloads (the worker's ids are not): how it was loaded. Training checkpoints
// are keyed by it, and the page uses it to tell whether the loaded model is the one a checkpoint trained.
import type { LoadedModel } from './api';

export function modelKeyOf(info: Pick<LoadedModel, 'origin' | 'label'>): string {
  const o = info.origin;
  if (o?.kind === 'hub') return `hub:${o.repo}@${o.revision}`;
  if (o?.kind === 'url') return o.baseUrl;
  return `file:${info.label}`;
}
