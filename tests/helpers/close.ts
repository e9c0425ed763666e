// Element-wise comparison of an f32 engine result with a float64 reference.
// Default f32 tolerance: |got - want| ≤ 2e-4 + 2e-4·|want| (f32 accumulation over dims ≤ 688;
// the reference accumulates in float64). -Infinity (masked scores) must match exactly.
import { expect } from 'vitest';

const ATOL = 2e-4;
const RTOL = 2e-4;

export function expectClose(name: string, got: ArrayLike<number>, want: ArrayLike<number>, atol = ATOL, rtol = RTOL): void {
  expect(got.length, `${name}: length`).toBe(want.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < want.length; i++) {
    const w = want[i];
    const g = got[i];
    if (w === -Infinity || g === -Infinity) {
      expect(g, `${name}[${i}]`).toBe(w);
      continue;
    }
    const excess = Math.abs(g - w) - (atol + rtol * Math.abs(w));
    if (!(excess <= worst)) {
      worst = Number.isNaN(excess) ? Infinity : excess;
      at = i;
    }
  }
  expect(worst, `${name}: worst element ${at}: got ${got[at]}, want ${want[at]}`).toBeLessThanOrEqual(0);
}

