// LoRA adapters: y = x Wᵀ + (alpha / r) · (x Aᵀ) Bᵀ on chosen linear modules, named as in PEFT.
// The engine's fused projections (q|k|v, gate|up) hold several modules; each module's LoRA writes
// into its own columns of the fused output.

import type { Runtime } from '../gpu/runtime';
import type { ModelConfig } from './config';
import { seededRandom } from '../common/rng';

/** One Hugging Face module inside one of the engine's linear layers. */
export interface ModuleSlice {
  name: string;
  offset: number;
  width: number;
  inDim: number;
}

export type LinearSite = 'qkv' | 'o' | 'up' | 'down' | 'lm_head';

/** The HF modules computed by a linear site of layer `i` (or by lm_head). */
export function moduleSlices(cfg: ModelConfig, site: LinearSite, i = -1): ModuleSlice[] {
  const D = cfg.hidden;
  const I = cfg.intermediate;
  const q = cfg.nHeads * cfg.headDim;
  const kv = cfg.nKvHeads * cfg.headDim;
  if (site === 'lm_head') return [{ name: 'lm_head', offset: 0, width: cfg.vocab, inDim: D }];
  if (cfg.arch === 'gpt2') {
    const h = `transformer.h.${i}`;
    return {
      qkv: [{ name: `${h}.attn.c_attn`, offset: 0, width: 3 * D, inDim: D }],
      o: [{ name: `${h}.attn.c_proj`, offset: 0, width: D, inDim: D }],
      up: [{ name: `${h}.mlp.c_fc`, offset: 0, width: I, inDim: D }],
      down: [{ name: `${h}.mlp.c_proj`, offset: 0, width: D, inDim: I }],
    }[site];
  }
  const L = `model.layers.${i}`;
  return {
    qkv: [
      { name: `${L}.self_attn.q_proj`, offset: 0, width: q, inDim: D },
      { name: `${L}.self_attn.k_proj`, offset: q, width: kv, inDim: D },
      { name: `${L}.self_attn.v_proj`, offset: q + kv, width: kv, inDim: D },
    ],
    o: [{ name: `${L}.self_attn.o_proj`, offset: 0, width: D, inDim: q }],
    up: [
      { name: `${L}.mlp.gate_proj`, offset: 0, width: I, inDim: D },
      { name: `${L}.mlp.up_proj`, offset: I, width: I, inDim: D },
    ],
    down: [{ name: `${L}.mlp.down_proj`, offset: 0, width: D, inDim: I }],
  }[site];
}

/** Every linear module of the model, in forward order. */
export function allModules(cfg: ModelConfig): ModuleSlice[] {
  const out: ModuleSlice[] = [];
  for (let i = 0; i < cfg.nLayers; i++) for (const s of ['qkv', 'o', 'up', 'down'] as const) out.push(...moduleSlices(cfg, s, i));
  out.push(...moduleSlices(cfg, 'lm_head'));
  return out;
}

export interface LoraConfig {
  rank: number;
  alpha: number;
  /** Module-name patterns, as in PEFT's target_modules: a bare name ('q_proj', 'lm_head') matches the last component. */
  targets: string[];
  /** PEFT's lora_dropout: the probability of zeroing an element of the LoRA branch's input while training. */
  dropout?: number;
}

export interface LoraModule {
  name: string;
  /** [rank, in] */
  A: GPUBuffer;
  /** [out, rank] */
  B: GPUBuffer;
  rank: number;
  inDim: number;
  outDim: number;
  scale: number;
}

export class LoraAdapter {
  readonly modules = new Map<string, LoraModule>();

  constructor(readonly config: LoraConfig) {}

  /** Initialise as PEFT does: A ~ Kaiming-uniform(a=√5) = U(±1/√in), B = 0, so the adapter starts as a no-op. */
  static create(rt: Runtime, cfg: ModelConfig, lc: LoraConfig, seed: number): LoraAdapter {
    if (!Number.isInteger(lc.rank) || lc.rank < 1) throw new Error(`LoRA rank must be a positive integer, got ${lc.rank}`);
    checkDropout(lc.dropout ?? 0);
    const matched = allModules(cfg).filter((m) => matchesTarget(m.name, lc.targets));
    if (!matched.length) throw new Error(`LoRA targets ${JSON.stringify(lc.targets)} match no module of this ${cfg.arch} model`);
    const a = new LoraAdapter(lc);
    const rand = seededRandom(seed);
    for (const m of matched) {
      const bound = 1 / Math.sqrt(m.inDim);
      const A = new Float32Array(lc.rank * m.inDim).map(() => (2 * rand() - 1) * bound);
      a.add(rt, m.name, A, new Float32Array(m.width * lc.rank), m.inDim, m.width);
    }
    return a;
  }

  add(rt: Runtime, name: string, A: Float32Array, B: Float32Array, inDim: number, outDim: number): void {
    const rank = this.config.rank;
    if (A.length !== rank * inDim || B.length !== outDim * rank) {
      throw new Error(`LoRA ${name}: lora_A has ${A.length} values and lora_B ${B.length}; expected [${rank}, ${inDim}] and [${outDim}, ${rank}]`);
    }
    this.modules.set(name, {
      name, rank, inDim, outDim, scale: this.config.alpha / rank,
      A: rt.createStatic(A, `${name}.lora_A`),
      B: rt.createStatic(B, `${name}.lora_B`),
    });
  }

  destroy(): void {
    for (const m of this.modules.values()) {
      m.A.destroy();
      m.B.destroy();
    }
    this.modules.clear();
  }
}

export function matchesTarget(name: string, targets: string[]): boolean {
  return targets.some((t) => name === t || name.endsWith(`.${t}`));
}

export function checkDropout(p: number): void {
  if (!(p >= 0 && p < 1)) throw new Error(`LoRA dropout must be in [0, 1), got ${p}`);
}

// The dropout mask is counter-based (shaders/dropout.wgsl): element i of a module's input is kept when
// mix32(mix32(seed) ^ i) ≥ p·2³², with the module's seed derived from the step's seed and its name.
// These mirror the kernel so tests (and anyone reproducing a step) can rebuild the mask on the CPU.

/** lowbias32, as in dropout.wgsl. */
export function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

export function dropoutThreshold(p: number): number {
  return Math.min(0xffffffff, Math.round(p * 2 ** 32));
}

/** The mask seed of module `name` in a forward whose dropout seed is `seed`. */
export function moduleDropoutSeed(seed: number, name: string): number {
  let h = 0x811c9dc5; // FNV-1a of the name: independent masks per module, stable across export / import
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return mix32((seed ^ h) >>> 0);
}

/** The inverted-dropout mask (0 or 1/(1−p) per element) that the GPU draws for `n` elements from `seed`. */
export function dropoutMask(seed: number, n: number, p: number): Float32Array {
  const t = dropoutThreshold(p);
  const s = mix32(seed >>> 0);
  return Float32Array.from({ length: n }, (_, i) => (mix32((s ^ i) >>> 0) >= t ? 1 / (1 - p) : 0));
}
