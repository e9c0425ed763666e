// Per-layer key and value rows for generation. Keys are stored before rotary (= hook_k), so a
// patched or steered k is what later steps attend to, and rotary is applied once, in attention.
import type { Pass, Runtime } from '../gpu/runtime';
import type { ModelConfig } from './config';

export class KVCache {
  readonly k: GPUBuffer[] = [];
  readonly v: GPUBuffer[] = [];
  /** Rows in use: tokens already cached (a batch may leave gaps: engine/batch.ts). */
  length = 0;
  /** The rotary position id of each cached row (its index, unless a forward gave explicit positions). */
  readonly positions: number[] = [];

  /** Floats per row: kvHeads × headDim. */
  private readonly width: number;

  constructor(private rt: Runtime, cfg: ModelConfig, readonly capacity: number) {
    this.width = cfg.nKvHeads * cfg.headDim;
    const bytes = capacity * this.width * 4;
    for (let i = 0; i < cfg.nLayers; i++) {
      this.k.push(rt.take(bytes));
      this.v.push(rt.take(bytes));
    }
  }

  /** Record tokens appended by a completed forward (at `rows` in a batch, else after the cached ones). */
  commit(positions: number[], rows?: number[]): void {
    if (!rows) this.positions.push(...positions);
    else {
      rows.forEach((r, t) => {
        while (this.positions.length <= r) this.positions.push(0);
        this.positions[r] = positions[t];
      });
    }
    this.length = this.positions.length;
  }

  /** Copy rows from .. from + count to each of `to` in every layer: a prompt's prefill forked to other sequences. */
  fork(pass: Pass, from: number, count: number, to: number[]): void {
    const bytes = count * this.width * 4;
    // A buffer cannot be copied into itself: the rows go through a scratch buffer.
    const tmp = pass.scratchBuffer(bytes);
    for (const b of [...this.k, ...this.v]) {
      pass.copy(b, from * this.width * 4, tmp, 0, bytes);
      for (const row of to) pass.copy(tmp, 0, b, row * this.width * 4, bytes);
    }
    const positions = this.positions.slice(from, from + count);
    for (const row of to) this.commit(positions, positions.map((_, j) => row + j));
  }

  release(): void {
    for (const b of [...this.k, ...this.v]) this.rt.release(b);
    this.k.length = 0;
    this.v.length = 0;
  }
}
