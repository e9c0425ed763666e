// The Monte Carlo's counter-based Gaussian draws, mirrored from src/shaders/ridge.wgsl (pcg, gaussian) so the CPU
// reference sees the same samples as the GPU (up to f32 rounding in the GPU's log/cos/sqrt).

export function pcg(v: number): number {
  const state = (Math.imul(v >>> 0, 747796405) + 2891336453) >>> 0;
  const word = Math.imul(((state >>> ((state >>> 28) + 4)) ^ state) >>> 0, 277803737) >>> 0;
  return ((word >>> 22) ^ word) >>> 0;
}

export function gaussian(seed: number, s: number, row: number, col: number): number {
  const key = pcg((col ^ pcg((row ^ pcg((s ^ pcg(seed >>> 0)) >>> 0)) >>> 0)) >>> 0);
  const h1 = pcg((key ^ 0x68bc21eb) >>> 0);
  const h2 = pcg((key ^ 0x02e5be93) >>> 0);
  const u1 = ((h1 >>> 8) + 1) / 16777216;
  const u2 = (h2 >>> 8) / 16777216;
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}
