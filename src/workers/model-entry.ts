// A model the worker holds: what the page was told about it, the engine's Model, its tokenizer, and the lock every
// GPU job on it takes (engine-api.ts, train-api.ts and method-host.ts all reach models through this).
import type { Model } from '../engine/model';
import type { Tokenizer } from '../engine/tokenizer';
import type { LoadedModel } from './api';
import type { Lock } from './lock';
import type { ModelFiles } from '../engine/files';

export interface ModelEntry {
  info: LoadedModel;
  model: Model;
  tokenizer: Tokenizer | null;
  lock: Lock;
  /** The Hub-layout files it was loaded from (not for GGUF): a fully fine-tuned copy is saved with their config and tokenizer. */
  files?: ModelFiles;
}
