// The one seeded generator: mulberry32, pure integer math, so Node, the worker and every browser draw the same
// stream from the same seed. `seededRandom` is the bare function the engine samples with; `Rng` adds the helpers the
// toy world and the methods draw data with (ints, picks, shuffles, independent child streams).

export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [lo, hi] inclusive. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  shuffle<T>(xs: readonly T[]): T[] {
    const a = xs.slice();
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a;
  }
  /** k distinct elements. */
  sample<T>(xs: readonly T[], k: number): T[] {
    return this.shuffle(xs).slice(0, k);
  }
  /** Independent child stream, so adding draws in one family never shifts another's. */
  fork(tag: string): Rng {
    let h = this.s ^ 0x9e3779b9;
    for (let i = 0; i < tag.length; i++) h = Math.imul(h ^ tag.charCodeAt(i), 0x01000193) >>> 0;
    return new Rng(h);
  }
}

/** The generator as a bare function, uniform in [0, 1): the same stream as `new Rng(seed).next()`. */
export function seededRandom(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}

/** Seed mixing for (seed, stream) pairs. */
export function mixSeed(seed: number, tag: string): number {
  return new Rng(seed).fork(tag).int(0, 0xffffffff);
}
