// Rotary cos/sin table, computed in float64 on the CPU and stored as f32 pairs [position, headDim/2].
import type { Runtime } from '../gpu/runtime';
import { ropeInvFreq, type ModelConfig } from './config';

export class RopeTable {
  buffer: GPUBuffer | null = null;
  positions = 0;
  private inv: Float64Array;

  constructor(private rt: Runtime, cfg: ModelConfig) {
    this.inv = ropeInvFreq(cfg);
  }

  /** The table covering at least `n` positions; grows by doubling so long generations rebuild it rarely. */
  covering(n: number): GPUBuffer {
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
