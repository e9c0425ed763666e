// Shared shapes of the propositional-probes pipeline, and the backend it drives (the engine in Node or in the worker).
import type { Runtime } from '../../gpu/runtime';
import type { HookSpec } from '../../engine/hooks';
import type { Domain } from '../../toyworld/families/binding';

/** 'name' is the index domain: every other domain's values are bound to a name. */
export type ProbeDomain = 'name' | Domain;

/** One proposition: name has value in domain (e.g. Greg, nurse, occupation). */
export interface Prop {
  name: string;
  value: string;
  domain: Domain;
}

/** A name or attribute value in a context, at the last token of its word. */
export interface Mention {
  pos: number;
  value: string;
  domain: ProbeDomain;
  entity: number;
}

export interface Question {
  name: string;
  domain: Domain;
  /** The value the context states (the truth), whatever an injection claims. */
  answer: string;
  /** Context (+ injection) + question tokens: the next token is the answer's first token. */
  promptIds: number[];
}

export type ProbeSet = 'synth' | 'paraphrase' | 'injected';

export interface ProbeItem {
  ids: number[];
  /** Display text of each token (as encoded, piece by piece). */
  tokens: string[];
  /** Context tokens are [contextStart, contextEnd): the only positions the probes read. */
  contextStart: number;
  contextEnd: number;
  mentions: Mention[];
  truth: Prop[];
  domains: Domain[];
  questions: Question[];
  /** The false statement appended after the context (set 'injected'). */
  injected?: Prop;
}

/** What the pipeline needs from a model: a forward with hooks, and the loss gradients of 'grad' hooks. */
export interface ProbeBackend {
  readonly d: number;
  readonly nLayers: number;
  /** The device's runtime: probes and the Hessian's SVD are fitted on the GPU (engine/fit). */
  readonly rt: Runtime;
  /** `last`: the final position's logits; cache: the 'read' hooks. */
  forward(ids: number[], hooks: HookSpec[]): Promise<{ last: Float32Array; cache: Record<string, Float32Array> }>;
  /** Mean cross-entropy over labelled positions and, in cache, "<hook>.grad" for each 'grad' hook. */
  gradients(ids: number[], labels: number[], hooks: HookSpec[]): Promise<{ loss: number; cache: Record<string, Float32Array> }>;
}

/** Turns text into ids one piece at a time, so every word's tokens are known. */
export interface PieceEncoder {
  /** Ids before the text (BOS when the model uses one). */
  prefix: number[];
  /** Ids of a piece (no special tokens added). */
  encode(piece: string): number[];
  /** 'words': toy-world canonical text, every piece after a space; 'english': no space before punctuation. */
  spacing: 'words' | 'english';
}

export type Progress = (stage: string, done: number, total: number) => void;
