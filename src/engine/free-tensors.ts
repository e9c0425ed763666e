// Free trainable tensors: a steering vector added at any hook point, and a soft prompt (trainable
// embeddings written over chosen positions). Each is a GPU tensor plus the TensorEdit that applies it
// (hook-session.ts), so the Trainer trains it like LoRA matrices or weights, and checkpoints keep it by name.

import type { Runtime } from '../gpu/runtime';
import type { ModelConfig } from './config';
import { hookShape } from './hooks';
import type { TensorEdit } from './hook-session';

export interface Trainable {
  name: string;
  buf: GPUBuffer;
  n: number;
  /** How a free tensor enters the forward; LoRA matrices and model weights have none. */
  edit?: TensorEdit;
}

export interface SteeringSpec {
  /** A 'pos' hook point, e.g. blocks.2.hook_resid_post. */
  hook: string;
  /** Positions it is added at (default: all). */
  positions?: number[];
  coeff?: number;
  /** Initial value (default zeros: training starts from the unsteered model). */
  init?: Float32Array;
}

/** A [width] vector added to the hook's activation: coeff · v at each chosen position. */
export function steeringVector(rt: Runtime, cfg: ModelConfig, s: SteeringSpec): Trainable {
  const shape = hookShape(cfg, s.hook, 1);
  if (shape.layout !== 'pos') throw new Error(`a steering vector needs a per-position hook point, not ${s.hook}`);
  const n = shape.dims.slice(1).reduce((a, b) => a * b, 1);
  const buf = rt.createStatic(checkInit(s.init, n, `steering vector at ${s.hook}`), `steer:${s.hook}`);
  return { name: `steer:${s.hook}`, buf, n, edit: { name: s.hook, op: 'add', tensor: buf, rows: 1, positions: s.positions, coeff: s.coeff } };
}

export interface SoftPromptSpec {
  /** Positions whose input embeddings are replaced, one trained row each. */
  positions: number[];
  /** Initial rows [positions × hidden] (e.g. the embeddings of some tokens; default zeros). */
  init?: Float32Array;
}

/** Trainable input embeddings written over hook_embed at the chosen positions. */
export function softPrompt(rt: Runtime, cfg: ModelConfig, s: SoftPromptSpec): Trainable {
  if (!s.positions.length || new Set(s.positions).size !== s.positions.length) throw new Error('a soft prompt needs distinct positions');
  const n = s.positions.length * cfg.hidden;
  const buf = rt.createStatic(checkInit(s.init, n, 'soft prompt'), 'soft_prompt');
  return { name: 'soft_prompt', buf, n, edit: { name: 'hook_embed', op: 'replace', tensor: buf, rows: s.positions.length, positions: s.positions } };
}

function checkInit(init: Float32Array | undefined, n: number, what: string): Float32Array {
  if (init && init.length !== n) throw new Error(`${what}: initial value has ${init.length} numbers, expected ${n}`);
  return init ?? new Float32Array(n);
}
