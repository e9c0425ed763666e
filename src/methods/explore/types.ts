// Plain data in and out of Explore's calls (they cross the worker boundary and print as the CLI's JSON).
import type { TopToken } from '../../common/topk';

export interface LensRequest {
  ids: number[];
  /** Tokens per cell (default 5). */
  k?: number;
}

export interface LogitLensResult {
  /** Row labels: 'embed', then 'layer 0' … 'layer L-1' (the stream after that layer). */
  rows: string[];
  positions: number;
  k: number;
  /** [row][position] → the k most likely tokens, the stream read out through the final norm and unembedding. */
  top: TopToken[][][];
  /** [row][position] → probability of the model's own prediction there (the last row's top token). */
  final: number[][];
  ms: number;
}

export interface PatchingOptions {
  clean: number[];
  corrupt: number[];
  /** Metric: logit(answer) − logit(wrong) at the last position. */
  answer: number;
  wrong: number;
  /** Sweep the residual stream (layer × position; default true) and attention heads' hook_z (layer × head; default true). */
  resid?: boolean;
  heads?: boolean;
}

export interface PatchingGrid {
  rows: number;
  cols: number;
  rowLabels: string[];
  /** Normalised recovery, row-major; NaN where the sweep did not get to (cancelled). */
  values: Float32Array;
}

export interface PatchingResult {
  metricClean: number;
  metricCorrupt: number;
  /** Rows: resid_pre of each layer, then the final stream; columns: positions. */
  resid: PatchingGrid | null;
  /** Rows: layers; columns: heads. */
  heads: PatchingGrid | null;
  done: number;
  total: number;
  cancelled: boolean;
  ms: number;
}

/** The detail of a patching sweep's progress (stage 'patch'): the cell just measured. */
export interface PatchingProgress {
  done: number;
  total: number;
  grid: 'resid' | 'heads';
  row: number;
  col: number;
  value: number;
}

export interface SteeringVectorOptions {
  /** A residual stream hook, e.g. 'blocks.1.hook_resid_pre'. */
  hook: string;
  positive: number[][];
  negative: number[][];
}

export interface SteerRequest {
  ids: number[];
  /** The residual stream the vector is added to, at every position and every step. */
  hook: string;
  vector: ArrayLike<number>;
  coeff: number;
  maxNewTokens: number;
  /** Ids that end a continuation (default: the model's end-of-turn and eos ids). */
  stop?: number[];
}

export interface Continuation {
  ids: number[];
  /** Display text of each new token ('#id' without a tokenizer). */
  pieces: string[];
}

/** Greedy continuations without and with the vector; streamed as stage 'unsteered' / 'steered', detail a StreamedPiece. */
export interface SteerResult {
  unsteered: Continuation;
  steered: Continuation;
  cancelled: boolean;
}

export interface StreamedPiece {
  id: number;
  text: string;
  index: number;
}
