// The backward tape. Differentiable ops record, right after their forward dispatch, a closure that
// records their backward dispatches; backward() runs the closures in reverse, in the same Pass.
// Gradients of activations live in fresh zeroed buffers keyed by the activation's buffer (created on
// first use, then accumulated); gradients of trained parameters live in buffers the trainer owns.

import type { Pass } from '../gpu/runtime';

export class Tape {
  private steps: (() => void)[] = [];
  private grads = new Map<GPUBuffer, GPUBuffer>();

  constructor(
    readonly pass: Pass,
    /** Trained parameter buffer -> its gradient buffer (accumulated into, never cleared here). */
    readonly paramGrads: Map<GPUBuffer, GPUBuffer> = new Map(),
    /** Record backward only for layers ≥ this (nothing below needs a gradient); -1 includes the embeddings. */
    readonly fromLayer = -1,
  ) {}

  record(step: () => void): void {
    this.steps.push(step);
  }

  /** The gradient buffer of activation `x` (same size), zeroed when first asked for. */
  grad(x: GPUBuffer): GPUBuffer {
    let g = this.grads.get(x);
    if (!g) {
      g = this.pass.zeroBuffer(x.size);
      this.grads.set(x, g);
    }
    return g;
  }

  /**
   * Make `g` the gradient of `x` if x has none yet: for a term whose gradient equals its consumer's (a sum's).
   * Whatever later accumulates into x's gradient then lands in g, which the consumer no longer reads.
   */
  alias(x: GPUBuffer, g: GPUBuffer): boolean {
    if (this.grads.has(x)) return false;
    this.grads.set(x, g);
    return true;
  }

  paramGrad(w: GPUBuffer): GPUBuffer | null {
    return this.paramGrads.get(w) ?? null;
  }

  /** Record `forward` (a recomputed block) on its own and run its backward at once: activation recomputation. */
  replay(forward: () => void): void {
    const outer = this.steps;
    this.steps = [];
    forward();
    this.backward();
    this.steps = outer;
  }

  /** Drop the gradients of these activations and any gradient held in them: their storage is being recycled. */
  forget(bufs: GPUBuffer[]): void {
    const dead = new Set(bufs);
    for (const [x, g] of this.grads) if (dead.has(x) || dead.has(g)) this.grads.delete(x);
  }

  backward(): void {
    const steps = this.steps;
    this.steps = [];
    for (let i = steps.length - 1; i >= 0; i--) steps[i]();
  }
}
