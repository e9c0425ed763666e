// Rotary cos/sin table, computed in float64 on the CPU and stored as f32 pairs [position, headDim/2].
import type { Runtime } from '../gpu/runtime';
import { ropeInvFreq, type ModelConfig } from './config';

export class RopeTable {
  buffer: GPUBuffer | null = null;
  positions = 0;
  private inv: Float64Array;
  /**
   * Positions past max_position_embeddings are outside what the model was trained on: refused by default;
   * with 'warn' they are computed and the furthest one is kept in `pastContext` for the caller to report.
   */
  beyondContext: 'refuse' | 'warn' = 'refuse';
  pastContext = 0;

  constructor(private rt: Runtime, private cfg: ModelConfig) {
    this.inv = ropeInvFreq(cfg);
  }

  /** The table covering at least `n` positions; grows by doubling so long generations rebuild it rarely. */
  covering(n: number): GPUBuffer {
    if (n > this.cfg.maxPositions) {
      if (this.beyondContext === 'refuse') {
        throw new Error(`position ${n - 1} is past the model's context (max_position_embeddings ${this.cfg.maxPositions}: positions 0..${this.cfg.maxPositions - 1}); shorten the input, or compute anyway and be warned (CLI: --past-context warn)`);
      }
      this.pastContext = Math.max(this.pastContext, n - 1);
    }
    if (this.buffer && n <= this.positions) return this.buffer;
    const positions = Math.max(64, 2 ** Math.ceil(Math.log2(n)));
    const half = this.inv.length;
    const data = new Float32Array(positions * half * 2);
    for (let p = 0; p < positions; p++) {
      for (let i = 0; i < half; i++) {
        const a = p * this.inv[i];
        data[(p * half + i) * 2] = Math.cos(a);
        data[(p * half + i) * 2 + 1] = Math.sin(a);
      }
    }
    this.buffer?.destroy();
    this.buffer = this.rt.createStatic(data, 'rope');
    this.positions = positions;
    return this.buffer;
  }

  destroy(): void {
    this.buffer?.destroy();
    this.buffer = null;
  }
}

/** The warning to print beside results computed past the context, or null when none were. */
export function pastContextWarning(rope: RopeTable | null, cfg: ModelConfig): string | null {
  if (!rope?.pastContext) return null;
  return `positions up to ${rope.pastContext} were computed past max_position_embeddings ${cfg.maxPositions}: the model was not trained there and its outputs there may be meaningless`;
}
