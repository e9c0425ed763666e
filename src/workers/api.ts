// The engine worker's API, shared by the worker and the page. Everything here is plain data that survives
// structured cloning: typed arrays, arrays, records. GPU handles never leave the worker.

import type { ModelConfig } from '../engine/config';
import type { HookSpec } from '../engine/hooks';
import type { DownloadProgress, ModelOrigin, TrainApi } from './api-train';
import type { MethodsApi } from './method-host';
import type { BatchApi } from './batch-api';

export type * from './api-train';
export type { TopToken } from '../common/topk';
// Explore's analyses are a method (src/methods/explore): methods(gpu, 'explore').lens / patch / steeringVector / steer.
export type * from '../methods/explore/types';
import type { TopToken } from '../common/topk';

export interface ChatMessage {
  role: string;
  content: string;
}

export interface AdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** Optional WebGPU features the engine can use on this device. */
  features: { f16: boolean; subgroups: boolean; timestamps: boolean };
  limits: { maxStorageBufferBindingSize: number; maxBufferSize: number; maxComputeWorkgroupStorageSize: number };
}

export type ModelSource =
  /** A folder laid out like a Hugging Face repo (config.json, *.safetensors, tokenizer.json), served over HTTP. */
  | { kind: 'url'; baseUrl: string; label?: string }
  /** Files picked from disk or dropped on the page, keyed by their path inside the model folder. */
  | { kind: 'local'; label: string; files: Record<string, Blob> }
  /** One GGUF file (weights and, when it carries one, the tokenizer). */
  | { kind: 'gguf'; label: string; file: Blob }
  /** A Hugging Face Hub repo (owner/name), downloaded into the IndexedDB cache; baseUrl defaults to https://huggingface.co. */
  | { kind: 'hub'; repo: string; revision?: string; baseUrl?: string; token?: string; label?: string };

export interface LoadModelOptions {
  /** Weight storage on the GPU; 'auto' (default) picks the most precise that fits the budget. */
  dtype?: 'auto' | 'f32' | 'f16' | 'q8' | 'q4';
  /** GPU memory the weights may take, in bytes (default: the engine's budget). */
  budgetBytes?: number;
}

export interface LoadedModel {
  id: string;
  label: string;
  config: ModelConfig;
  /** Weight storage the engine chose ('f32', 'f16', 'q8', 'q4'). */
  dtype: string;
  /** Bytes of weights on the GPU. */
  weightBytes: number;
  hasTokenizer: boolean;
  hasChatTemplate: boolean;
  /** Why there is no tokenizer, when the engine knows ('' otherwise). */
  tokenizerNote: string;
  /** Hook points this model offers, in forward order. */
  hookNames: string[];
  /** How to load it again (a URL or a Hub id; null for picked files): training resumes on it after a reload. */
  origin: ModelOrigin | null;
}

export interface TokenizeOptions {
  /** Render through the chat template (a string becomes one user message). */
  chat?: boolean;
  /** With chat: end with the assistant prefix (default true). */
  addGenerationPrompt?: boolean;
  /** Without chat: let the tokenizer add BOS etc. (default true). */
  addSpecialTokens?: boolean;
}

export interface Tokenized {
  ids: number[];
  /** Display text of each token, in context. */
  tokens: string[];
}

export interface ForwardOptions {
  hooks?: HookSpec[];
  /** 'last' (default) returns only the final position's logits row; 'all' returns [T × vocab]; 'none' skips them. */
  logits?: 'last' | 'all' | 'none';
  /** Also return the k most likely next tokens at the last position (softmax over the full vocabulary). */
  top?: number;
  /** Apply a LoRA adapter: a training run's id or a loaded adapter's id (loadAdapter). */
  adapter?: string;
}

export interface ForwardResult {
  logits: Float32Array;
  /** Rows in `logits` (1 for 'last'); columns are config.vocab. */
  logitRows: number;
  vocab: number;
  /** Activations read by 'read' hooks, flattened row-major. */
  cache: Record<string, Float32Array>;
  /** Shape of each cache entry, as TransformerLens reports it (no batch axis). */
  shapes: Record<string, number[]>;
  top: TopToken[];
  ms: number;
}

export interface GenerateOptions {
  maxNewTokens: number;
  /** 0 = greedy. */
  temperature?: number;
  topK?: number;
  topP?: number;
  seed?: number;
  /** Token ids that end generation (kept in the output); default: the end of a turn (defaultStopIds). */
  stop?: number[];
  /** Edits applied at every step (steered generation). */
  hooks?: HookSpec[];
  /** Apply a LoRA adapter: a training run's id or a loaded adapter's id (loadAdapter). */
  adapter?: string;
}

export interface StreamedToken {
  id: number;
  text: string;
  index: number;
}

export interface GenerateResult {
  ids: number[];
  /** Decoded text of the new tokens (empty when the model has no tokenizer). */
  text: string;
  ms: number;
}

export interface GradientsResult {
  /** Mean cross-entropy over the labelled positions. */
  loss: number;
  /** "<hook>.grad" for each 'grad' hook (d loss / d activation), and the 'read' hooks. */
  cache: Record<string, Float32Array>;
}

/** The methods (src/methods/list.ts) run here too, next to the loaded model, through `method` (method-host.ts). */
export interface EngineApi extends TrainApi, MethodsApi, BatchApi {
  init(): Promise<AdapterInfo>;
  /** `onProgress` (through callback()) sees a Hub download's bytes per file and overall. */
  loadModel(source: ModelSource, opts?: LoadModelOptions, onProgress?: (p: DownloadProgress) => void): Promise<LoadedModel>;
  tokenize(modelId: string, input: string | ChatMessage[], opts?: TokenizeOptions): Promise<Tokenized>;
  decode(modelId: string, ids: number[], opts?: { skipSpecialTokens?: boolean }): Promise<string>;
  /** Display text of each id in context ('#id' when the model has no tokenizer). */
  tokenStrings(modelId: string, ids: number[]): Promise<string[]>;
  forward(modelId: string, ids: number[], opts?: ForwardOptions): Promise<ForwardResult>;
  /** Cross-entropy of `labels` (-1: no loss) and the gradients asked for by 'grad' hooks; edits apply as in forward. */
  gradients(modelId: string, ids: number[], labels: number[], hooks: HookSpec[]): Promise<GradientsResult>;
  /** Streams each new token to `onToken` (pass it through `callback()` from client.ts). */
  generate(
    modelId: string,
    ids: number[],
    opts: GenerateOptions,
    onToken?: (t: StreamedToken) => void,
  ): Promise<GenerateResult>;
  dispose(modelId: string): Promise<void>;
}
