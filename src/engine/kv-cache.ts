// Per-layer key and value rows for generation. Keys are stored before rotary (= hook_k), so a
// patched or steered k is what later steps attend to, and rotary is applied once, in attention.
import type { Runtime } from '../gpu/runtime';
import type { ModelConfig } from './config';

export class KVCache {
  readonly k: GPUBuffer[] = [];
  readonly v: GPUBuffer[] = [];
  /** Tokens already cached. */
  length = 0;
  /** The rotary position id of each cached token (its index, unless a forward gave explicit positions). */
  readonly positions: number[] = [];

  constructor(private rt: Runtime, cfg: ModelConfig, readonly capacity: number) {
    const bytes = capacity * cfg.nKvHeads * cfg.headDim * 4;
    for (let i = 0; i < cfg.nLayers; i++) {
      this.k.push(rt.take(bytes));
      this.v.push(rt.take(bytes));
    }
  }

  /** Record tokens appended by a completed forward. */
  commit(positions: number[]): void {
    this.positions.push(...positions);
    this.length = this.positions.length;
  }

  release(): void {
    for (const b of [...this.k, ...this.v]) this.rt.release(b);
    this.k.length = 0;
    this.v.length = 0;
  }
}
