// Seeded data order: each epoch is a fresh Fisher–Yates shuffle of the examples, drawn from a
// generator seeded by (seed, epoch), so a run resumed from its cursor sees the same order.
import { seededRandom } from '../common/rng';

export interface Cursor {
  epoch: number;
  index: number;
}

export class DataOrder {
  private order: number[] = [];

  cursor: Cursor = { epoch: 0, index: 0 };

  constructor(readonly size: number, readonly seed: number) {
    if (size < 1) throw new Error('the dataset is empty');
    this.shuffle();
  }

  /** Continue from a saved cursor. */
  seek(c: Cursor): void {
    this.cursor = { ...c };
    this.shuffle();
  }

  /** The next `n` example indices, crossing into the next epoch when needed. */
  next(n: number): number[] {
    const out: number[] = [];
    while (out.length < n) {
      if (this.cursor.index >= this.size) {
        this.cursor = { epoch: this.cursor.epoch + 1, index: 0 };
        this.shuffle();
      }
      out.push(this.order[this.cursor.index++]);
    }
    return out;
  }

  private shuffle(): void {
    const r = seededRandom((this.seed * 1000003 + this.cursor.epoch) >>> 0);
    this.order = Array.from({ length: this.size }, (_, i) => i);
    for (let i = this.size - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [this.order[i], this.order[j]] = [this.order[j], this.order[i]];
    }
  }
}
