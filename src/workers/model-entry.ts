// A model the worker holds: what the page was told about it, the engine's Model, its tokenizer, and the lock every
// GPU job on it takes (engine-api.ts, train-api.ts and method-host.ts all reach models through this).
import type { Model } from '../engine/model';
import type { Tokenizer } from '../engine/tokenizer';
import type { LoadedModel } from './api';
import type { Lock } from './lock';

export interface ModelEntry {
  info: LoadedModel;
  model: Model;
  tokenizer: Tokenizer | null;
  lock: Lock;
}
