// The worker API's training, adapter and model-cache calls (part of EngineApi, see api.ts). Plain data only.


/** How to load a model again after a reload (picked files cannot be reloaded without the user). */
export type ModelOrigin = { kind: 'url'; baseUrl: string; label?: string } | { kind: 'hub'; repo: string; revision: string; baseUrl?: string };

/** Download progress of a Hub model, per file and overall (bytes). */
export interface DownloadProgress {
  file: string;
  fileLoaded: number;
  fileTotal: number;
  loaded: number;
  total: number;
  /** Bytes that came from the IndexedDB cache rather than the network. */
  cached: number;
}

export interface CachedModel {
  /** repo@revision */
  key: string;
  repo: string;
  revision: string;
  bytes: number;
  /** false while a download is unfinished. */
  complete: boolean;
}

export interface LoraSettings {
  rank: number;
  alpha: number;
  /** PEFT target_modules: 'q_proj', 'down_proj', 'lm_head', … */
  targets: string[];
}

export interface TrainSettings {
  lr: number;
  optimizer?: 'adamw' | 'sgd';
  weightDecay?: number;
  /** Clip the global gradient norm (0: no clipping). */
  maxGradNorm?: number;
  warmupSteps?: number;
  schedule?: 'constant' | 'linear' | 'cosine';
}

export interface FinetuneRequest {
  /** Training text (tokenized with the model's tokenizer, BOS added) or token ids; one of the two. */
  text?: string;
  ids?: number[];
  /** Tokens per example: the data is cut into consecutive pieces of this length (default 64). */
  seqLen?: number;
  lora: LoraSettings;
  /**
   * Full fine-tuning instead of LoRA (then `lora` is not used): the model's own weights whose checkpoint names match
   * these patterns (['*']: all; 'layers.1.mlp.*', 'embed_tokens.weight', …) are trained in place, in f32. While the
   * run is open the loaded model has the trained weights; cancelling it puts the base weights back.
   */
  full?: { weights: string[] };
  train: TrainSettings;
  /** Optimizer steps in all. */
  steps: number;
  /** Examples per step (default 1). */
  batchSize?: number;
  /** Seeds the LoRA initialisation and the data order (default 0). */
  seed?: number;
  /** Save a checkpoint to IndexedDB every N steps (0: only on pause and at the end; default 10). */
  checkpointEvery?: number;
}

/** 'closed': its model was unloaded; the run was paused and checkpointed first, and resumes from the checkpoint. */
export type FinetuneState = 'running' | 'paused' | 'done' | 'cancelled' | 'error' | 'closed';

export interface FinetuneProgress {
  runId: string;
  state: FinetuneState;
  step: number;
  steps: number;
  /** Of the last step (NaN before the first). */
  loss: number;
  gradNorm: number;
  lr: number;
  /** Tokens the last step trained on, and how fast. */
  tokens: number;
  tokensPerSec: number;
  /** GPU bytes the last step held at its peak beyond the weights (0 before the first step). */
  peakBytes: number;
  /** Step of the last checkpoint written to IndexedDB (0: none yet). */
  checkpointStep: number;
  error?: string;
}

export interface FinetuneStatus extends FinetuneProgress {
  /** Loss of every step so far (step i + 1 at index i). */
  losses: number[];
  key: string;
  modelId: string;
}

/** A run's record in IndexedDB (without its checkpoint bytes and token ids). */
export interface TrainCheckpointInfo {
  /** `${modelKey}#${runId}` */
  key: string;
  runId: string;
  /** The model the run trains: a URL, hub:repo@revision, or file:label for picked files. */
  modelKey: string;
  modelLabel: string;
  origin: ModelOrigin | null;
  /** arch, layers, width and vocabulary: a checkpoint resumes only on the same shape of model. */
  fingerprint: string;
  /** The request without its ids (text kept, shortened, for display). */
  request: Omit<FinetuneRequest, 'ids'>;
  tokens: number;
  step: number;
  steps: number;
  status: 'running' | 'paused' | 'done';
  /** Losses up to `step`. */
  losses: number[];
  bytes: number;
  createdAt: number;
  updatedAt: number;
  /** A method's run (kind: one of its runKinds in src/methods/list.ts): its page resumes it, rebuilding the examples
   *  from this request. Absent for the Train page's own runs. */
  method?: { kind: string; request: Record<string, unknown> };
}

export interface LoadedAdapter {
  id: string;
  modelId: string;
  label: string;
  rank: number;
  alpha: number;
  targets: string[];
  /** LoRA modules in the adapter. */
  modules: number;
}

/** PEFT files: adapter_config.json (text) and adapter_model.safetensors (bytes). */
export interface AdapterFiles {
  'adapter_config.json': string;
  'adapter_model.safetensors': Uint8Array;
}

export interface TrainApi {
  /** Starts LoRA training in the worker and returns the run id at once; `onProgress` (through callback()) sees every step and state change. */
  startFinetune(modelId: string, req: FinetuneRequest, onProgress?: (p: FinetuneProgress) => void): Promise<string>;
  /** Stops after the current step, writes a checkpoint, and resolves with the run's status. */
  pauseFinetune(runId: string): Promise<FinetuneStatus>;
  /** Continues a paused run. */
  resumeFinetune(runId: string): Promise<FinetuneStatus>;
  /** Stops after the current step and frees the run; an unfinished run's checkpoint is deleted. A finished run is only closed. */
  cancelFinetune(runId: string): Promise<FinetuneStatus>;
  finetuneStatus(runId: string): Promise<FinetuneStatus>;
  /** Runs in IndexedDB, newest first. */
  listCheckpoints(): Promise<TrainCheckpointInfo[]>;
  /** Continues a stored run on `modelId` (which must have the run's shape) from its last checkpoint; keeps its run id. */
  resumeFromCheckpoint(modelId: string, key: string, onProgress?: (p: FinetuneProgress) => void): Promise<string>;
  deleteCheckpoint(key: string): Promise<boolean>;
  /** A run's (or a loaded adapter's) LoRA weights as PEFT files. */
  exportAdapter(id: string): Promise<AdapterFiles>;
  /** A full fine-tuning run's model as a Hugging Face folder (config.json, model.safetensors, tokenizer files), by file name. */
  exportModel(runId: string): Promise<Record<string, Uint8Array>>;
  /** A full fine-tuning run's weight delta (trained − base, per trained checkpoint tensor) as safetensors bytes. */
  exportDelta(runId: string): Promise<Uint8Array>;
  /** A PEFT adapter folder (adapter_config.json + adapter_model.safetensors, keyed by path or file name). */
  loadAdapter(modelId: string, files: Record<string, Blob | Uint8Array | string>, label?: string): Promise<LoadedAdapter>;
  disposeAdapter(id: string): Promise<void>;
  /** Cancels Hub downloads in progress. */
  cancelLoad(): Promise<void>;
  /** Hub models kept in IndexedDB. */
  cachedModels(): Promise<CachedModel[]>;
  deleteCachedModel(key: string): Promise<boolean>;
  clearCachedModels(): Promise<void>;
}
