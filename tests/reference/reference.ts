// Float64 CPU reference forward for GPT-2, Llama (2/3/3.2) and Qwen2: the ground truth the WebGPU engine is tested against.
// Written to be read: one forward per architecture, plain loops, every TransformerLens hook point where the math makes it.
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configFromJson, parseConfig, ropeInvFreq, type Activation, type ModelConfig } from '../../src/engine/config';
import { hookNames, hookShape, type HookShape, type HookSpec } from '../../src/engine/hooks';
import { parseSafetensors, tensorToFloat32 } from '../../src/engine/safetensors';

type Arr = Float64Array | Float32Array;

/** A model as plain data: weights keyed by their Hugging Face names, row-major, with shapes alongside. */
export interface RefModel {
  config: ModelConfig;
  tensors: Map<string, Arr>;
  shapes: Map<string, number[]>;
  /** LoRA on Llama / Qwen2 modules (by HF module name): y += scale · ((x ⊙ mask) Aᵀ) Bᵀ; mask: dropout's, [T × in]. */
  lora?: Map<string, RefLora>;
}

export interface RefLora {
  /** [rank, in] */
  A: Arr;
  /** [out, rank] */
  B: Arr;
  rank: number;
  scale: number;
  mask?: Arr;
}

// ---------------------------------------------------------------- loading

/** Build a model from a config (HF JSON object or a parsed ModelConfig) and named tensors. */
export function refModel(
  config: ModelConfig | Record<string, unknown>,
  tensors: Record<string, { shape: number[]; data: Arr }> | Map<string, { shape: number[]; data: Arr }>,
): RefModel {
  const cfg = 'arch' in config ? (config as ModelConfig) : configFromJson(config);
  const m: RefModel = { config: cfg, tensors: new Map(), shapes: new Map() };
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  for (const [name, t] of entries) {
    m.tensors.set(name, t.data);
    m.shapes.set(name, t.shape);
  }
  return m;
}

/** Read config.json plus model.safetensors (or the shards named by model.safetensors.index.json) from a folder. */
export function loadRefModel(dir: string | URL): RefModel {
  const root = typeof dir === 'string' ? dir : fileURLToPath(dir);
  const config = parseConfig(readFileSync(join(root, 'config.json'), 'utf8'), join(root, 'config.json'));
  const index = join(root, 'model.safetensors.index.json');
  const files = existsSync(index)
    ? [...new Set(Object.values(JSON.parse(readFileSync(index, 'utf8')).weight_map as Record<string, string>))]
    : ['model.safetensors'];
  const tensors = new Map<string, { shape: number[]; data: Arr }>();
  for (const f of files) {
    const path = join(root, f);
    const bytes = new Uint8Array(readFileSync(path));
    const st = parseSafetensors(bytes, path);
    for (const [name, info] of st.tensors) tensors.set(name, { shape: info.shape, data: tensorToFloat32(bytes, info, st.dataOffset) });
  }
  return refModel(config, tensors);
}

function param(m: RefModel, name: string, shape: number[]): Arr {
  const t = m.tensors.get(name);
  if (!t) throw new Error(`reference model is missing tensor "${name}" (expected shape [${shape.join(', ')}])`);
  const got = m.shapes.get(name) ?? [t.length];
  if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) {
    throw new Error(`tensor "${name}" has shape [${got.join(', ')}], expected [${shape.join(', ')}]`);
  }
  return t;
}

// ---------------------------------------------------------------- hooks

/** Applies the HookSpec edits at each hook point, in list order, and keeps what `read` copies. */
class Hooks {
  readonly cache = new Map<string, Float64Array>();
  private specs = new Map<string, HookSpec[]>();

  constructor(private cfg: ModelConfig, list: HookSpec[], private T: number) {
    const known = new Set(hookNames(cfg));
    for (const s of list) {
      const shape = hookShape(cfg, s.name, T); // throws on names this model lacks
      // hookShape lets a block-local name without its "blocks.i." prefix through; no hook point has that name.
      if (!known.has(s.name)) throw new Error(`unknown hook point "${s.name}" for this ${cfg.arch} model; block hooks need a "blocks.<i>." prefix`);
      this.check(s, shape);
      this.specs.set(s.name, [...(this.specs.get(s.name) ?? []), s]);
    }
  }

  private check(s: HookSpec, shape: HookShape): void {
    const total = shape.dims.reduce((a, d) => a * d, 1);
    const width = shape.layout === 'map' ? shape.dims[2] : total / this.T;
    if ('value' in s) {
      const n = s.value.length;
      if (n !== width && n !== total) throw new Error(`hook ${s.name}: value has ${n} numbers; want ${width} (one row) or ${total} (full)`);
    }
    for (const p of s.positions ?? []) {
      if (!Number.isInteger(p) || p < 0 || p >= this.T) throw new Error(`hook ${s.name}: position ${p} is outside 0..${this.T - 1}`);
    }
    if (s.heads) {
      const nh = shape.layout === 'map' ? shape.dims[0] : shape.headDim ? shape.dims[1] : 0;
      if (!nh) throw new Error(`hook ${s.name}: "heads" applies only to per-head (q, k, v, z) and attention-map hooks`);
      for (const h of s.heads) if (!Number.isInteger(h) || h < 0 || h >= nh) throw new Error(`hook ${s.name}: head ${h} is outside 0..${nh - 1}`);
    }
  }

  /** Called once per hook point, the moment its activation exists; edits `x` in place. */
  at(name: string, x: Float64Array): void {
    for (const s of this.specs.get(name) ?? []) {
      if (s.op === 'read') {
        this.cache.set(name, x.slice());
        continue;
      }
      const shape = hookShape(this.cfg, name, this.T);
      const map = shape.layout === 'map';
      const width = map ? shape.dims[2] : x.length / this.T;
      const positions = [...new Set(s.positions ?? range(this.T))];
      // Map hooks: rows are (head, query) pairs. Per-head 'pos' hooks: heads pick column blocks.
      const rowHeads = map ? [...new Set(s.heads ?? range(shape.dims[0]))] : [0];
      const cols = !map && s.heads ? [...new Set(s.heads)].flatMap((h) => range(shape.headDim).map((d) => h * shape.headDim + d)) : range(width);
      const value = 'value' in s ? s.value : null;
      const coeff = s.op === 'add' ? (s.coeff ?? 1) : 1;
      for (const h of rowHeads) {
        for (const t of positions) {
          const base = (map ? h * this.T + t : t) * width;
          for (const c of cols) {
            const i = base + c;
            if (s.op === 'zero') x[i] = 0;
            else {
              const v = value!.length === width ? value![c] : value![i];
              x[i] = s.op === 'add' ? x[i] + coeff * v : v;
            }
          }
        }
      }
    }
  }
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

// ---------------------------------------------------------------- ops

function embedRows(table: Arr, ids: number[], D: number): Float64Array {
  const out = new Float64Array(ids.length * D);
  ids.forEach((id, t) => {
    for (let d = 0; d < D; d++) out[t * D + d] = table[id * D + d];
  });
  return out;
}

/** The norm before its elementwise weight: RMSNorm x/rms(x), or LayerNorm (x − mean)/std with biased variance. */
function normalize(x: Float64Array, T: number, D: number, kind: ModelConfig['norm'], eps: number): Float64Array {
  const out = new Float64Array(T * D);
  for (let t = 0; t < T; t++) {
    const row = x.subarray(t * D, (t + 1) * D);
    let mean = 0;
    if (kind === 'layernorm') {
      for (let d = 0; d < D; d++) mean += row[d];
      mean /= D;
    }
    let ss = 0;
    for (let d = 0; d < D; d++) ss += (row[d] - mean) ** 2;
    const inv = 1 / Math.sqrt(ss / D + eps);
    for (let d = 0; d < D; d++) out[t * D + d] = (row[d] - mean) * inv;
  }
  return out;
}

function scaleShift(n: Float64Array, T: number, D: number, w: Arr, b: Arr | null): Float64Array {
  const out = new Float64Array(T * D);
  for (let t = 0; t < T; t++) for (let d = 0; d < D; d++) out[t * D + d] = n[t * D + d] * w[d] + (b ? b[d] : 0);
  return out;
}

/** y = x·Wᵀ + b with W [out, in] (PyTorch Linear). */
function linear(x: Float64Array, T: number, inDim: number, W: Arr, outDim: number, b: Arr | null): Float64Array {
  const y = new Float64Array(T * outDim);
  for (let t = 0; t < T; t++) {
    for (let o = 0; o < outDim; o++) {
      let s = b ? b[o] : 0;
      for (let i = 0; i < inDim; i++) s += x[t * inDim + i] * W[o * inDim + i];
      y[t * outDim + o] = s;
    }
  }
  return y;
}

/** y = x·W + b with W [in, out] (GPT-2's Conv1D). */
function conv1d(x: Float64Array, T: number, inDim: number, W: Arr, outDim: number, b: Arr): Float64Array {
  const y = new Float64Array(T * outDim);
  for (let t = 0; t < T; t++) {
    for (let o = 0; o < outDim; o++) {
      let s = b[o];
      for (let i = 0; i < inDim; i++) s += x[t * inDim + i] * W[i * outDim + o];
      y[t * outDim + o] = s;
    }
  }
  return y;
}

/** y (the module's output [T, out]) plus the module's LoRA delta, if the model has one. */
function withLora(m: RefModel, module: string, x: Float64Array, T: number, inDim: number, y: Float64Array): Float64Array {
  const l = m.lora?.get(module);
  if (!l) return y;
  const outDim = y.length / T;
  for (let t = 0; t < T; t++) {
    const h = new Float64Array(l.rank);
    for (let j = 0; j < l.rank; j++) {
      for (let i = 0; i < inDim; i++) h[j] += x[t * inDim + i] * (l.mask ? l.mask[t * inDim + i] : 1) * l.A[j * inDim + i];
    }
    for (let o = 0; o < outDim; o++) {
      let d = 0;
      for (let j = 0; j < l.rank; j++) d += l.B[o * l.rank + j] * h[j];
      y[t * outDim + o] += l.scale * d;
    }
  }
  return y;
}

function add(a: Float64Array, b: Float64Array): Float64Array {
  return a.map((v, i) => v + b[i]);
}

/** erf by its Maclaurin series in the all-positive form e^{-x²}·Σ 2ⁿx^{2n+1}/(1·3·…·(2n+1)): no cancellation, ~1e-15. */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax >= 6) return Math.sign(x); // 1 − erf(6) ≈ 2e-17
  let term = ax;
  let sum = ax;
  for (let n = 1; term > 1e-17 * sum; n++) {
    term *= (2 * ax * ax) / (2 * n + 1);
    sum += term;
  }
  return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * Math.exp(-ax * ax) * sum;
}

export function activate(x: number, act: Activation): number {
  switch (act) {
    case 'silu':
      return x / (1 + Math.exp(-x));
    case 'gelu_new':
      return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
    case 'gelu':
      return 0.5 * x * (1 + erf(x / Math.SQRT2));
    case 'quick_gelu':
      return x / (1 + Math.exp(-1.702 * x));
  }
}

/** HF rotate-half rotary on [T, heads·dh]: pairs (i, i + dh/2) turn by pos·invFreq[i]. Returns a new array. */
function rotary(x: Float64Array, T: number, heads: number, dh: number, invFreq: Float64Array, pos: number[]): Float64Array {
  const out = new Float64Array(x.length);
  const half = dh / 2;
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < half; i++) {
      const cos = Math.cos(pos[t] * invFreq[i]);
      const sin = Math.sin(pos[t] * invFreq[i]);
      for (let h = 0; h < heads; h++) {
        const base = (t * heads + h) * dh;
        const a = x[base + i];
        const b = x[base + i + half];
        out[base + i] = a * cos - b * sin;
        out[base + i + half] = b * cos + a * sin;
      }
    }
  }
  return out;
}

/** Causal attention with GQA (query head h reads KV head ⌊h / (H/Hkv)⌋); scores, pattern and z are hook points. */
function attention(c: ModelConfig, layer: number, q: Float64Array, k: Float64Array, v: Float64Array, T: number, hk: Hooks): Float64Array {
  const H = c.nHeads;
  const Hkv = c.nKvHeads;
  const dh = c.headDim;
  const group = H / Hkv;
  const b = `blocks.${layer}.attn.`;
  const scores = new Float64Array(H * T * T);
  for (let h = 0; h < H; h++) {
    const kvh = Math.floor(h / group);
    for (let t = 0; t < T; t++) {
      for (let s = 0; s < T; s++) {
        let dot = 0;
        for (let d = 0; d < dh; d++) dot += q[(t * H + h) * dh + d] * k[(s * Hkv + kvh) * dh + d];
        scores[(h * T + t) * T + s] = s > t ? -Infinity : dot / Math.sqrt(dh);
      }
    }
  }
  hk.at(b + 'hook_attn_scores', scores);

  const pattern = new Float64Array(H * T * T);
  for (let r = 0; r < H * T; r++) {
    const row = scores.subarray(r * T, (r + 1) * T);
    const max = Math.max(...row);
    let sum = 0;
    for (let s = 0; s < T; s++) sum += (pattern[r * T + s] = Math.exp(row[s] - max));
    for (let s = 0; s < T; s++) pattern[r * T + s] /= sum;
  }
  hk.at(b + 'hook_pattern', pattern);

  // Sums over every key: masked ones carry weight 0 unless an edit on scores or pattern gave them some.
  const z = new Float64Array(T * H * dh);
  for (let h = 0; h < H; h++) {
    const kvh = Math.floor(h / group);
    for (let t = 0; t < T; t++) {
      for (let s = 0; s < T; s++) {
        const p = pattern[(h * T + t) * T + s];
        if (p === 0) continue;
        for (let d = 0; d < dh; d++) z[(t * H + h) * dh + d] += p * v[(s * Hkv + kvh) * dh + d];
      }
    }
  }
  hk.at(b + 'hook_z', z);
  return z;
}

// ---------------------------------------------------------------- forwards

function llamaForward(m: RefModel, ids: number[], hk: Hooks, pos: number[]): Float64Array {
  const c = m.config;
  const { hidden: D, vocab: V, nHeads: H, nKvHeads: Hkv, headDim: dh, intermediate: I } = c;
  const T = ids.length;
  const P = (name: string, shape: number[]) => param(m, name, shape);
  const bias = (on: boolean, name: string, n: number) => (on ? P(name, [n]) : null);
  const invFreq = ropeInvFreq(c);

  const embedTable = P('model.embed_tokens.weight', [V, D]);
  const embed = embedRows(embedTable, ids, D);
  hk.at('hook_embed', embed);
  let resid = embed;
  for (let l = 0; l < c.nLayers; l++) {
    const p = `model.layers.${l}.`;
    const b = `blocks.${l}.`;
    hk.at(b + 'hook_resid_pre', resid);

    const n1 = normalize(resid, T, D, 'rmsnorm', c.normEps);
    hk.at(b + 'ln1.hook_normalized', n1);
    const x1 = scaleShift(n1, T, D, P(p + 'input_layernorm.weight', [D]), null);
    const proj = (name: string, rows: number) =>
      withLora(m, `${p}self_attn.${name}`, x1, T, D, linear(x1, T, D, P(`${p}self_attn.${name}.weight`, [rows, D]), rows, bias(c.qkvBias, `${p}self_attn.${name}.bias`, rows)));
    const q = proj('q_proj', H * dh);
    hk.at(b + 'attn.hook_q', q);
    const k = proj('k_proj', Hkv * dh);
    hk.at(b + 'attn.hook_k', k);
    const v = proj('v_proj', Hkv * dh);
    hk.at(b + 'attn.hook_v', v);
    const z = attention(c, l, rotary(q, T, H, dh, invFreq, pos), rotary(k, T, Hkv, dh, invFreq, pos), v, T, hk);
    const attnOut = withLora(m, p + 'self_attn.o_proj', z, T, H * dh, linear(z, T, H * dh, P(p + 'self_attn.o_proj.weight', [D, H * dh]), D, bias(c.oBias, p + 'self_attn.o_proj.bias', D)));
    hk.at(b + 'hook_attn_out', attnOut);
    const mid = add(resid, attnOut);
    hk.at(b + 'hook_resid_mid', mid);

    const n2 = normalize(mid, T, D, 'rmsnorm', c.normEps);
    hk.at(b + 'ln2.hook_normalized', n2);
    const x2 = scaleShift(n2, T, D, P(p + 'post_attention_layernorm.weight', [D]), null);
    const mlp = (name: string, rows: number, cols: number, x: Float64Array) =>
      withLora(m, `${p}mlp.${name}`, x, T, cols, linear(x, T, cols, P(`${p}mlp.${name}.weight`, [rows, cols]), rows, bias(c.mlpBias, `${p}mlp.${name}.bias`, rows)));
    const pre = mlp('gate_proj', I, D, x2);
    hk.at(b + 'mlp.hook_pre', pre);
    const preLinear = mlp('up_proj', I, D, x2);
    hk.at(b + 'mlp.hook_pre_linear', preLinear);
    const post = pre.map((g, i) => activate(g, c.act) * preLinear[i]);
    hk.at(b + 'mlp.hook_post', post);
    const mlpOut = mlp('down_proj', D, I, post);
    hk.at(b + 'hook_mlp_out', mlpOut);
    resid = add(mid, mlpOut);
    hk.at(b + 'hook_resid_post', resid);
  }

  const nf = normalize(resid, T, D, 'rmsnorm', c.normEps);
  hk.at('ln_final.hook_normalized', nf);
  const xf = scaleShift(nf, T, D, P('model.norm.weight', [D]), null);
  const unembed = c.tiedEmbeddings ? embedTable : P('lm_head.weight', [V, D]);
  const logits = withLora(m, 'lm_head', xf, T, D, linear(xf, T, D, unembed, V, null));
  hk.at('logits', logits);
  return logits;
}

function gpt2Forward(m: RefModel, ids: number[], hk: Hooks, pos: number[]): Float64Array {
  const c = m.config;
  const { hidden: D, vocab: V, nHeads: H, headDim: dh, intermediate: I } = c;
  const T = ids.length;
  if (T > c.maxPositions) throw new Error(`GPT-2 has ${c.maxPositions} learned positions; got ${T} tokens`);
  const P = (name: string, shape: number[]) => param(m, name, shape);

  const wte = P('transformer.wte.weight', [V, D]);
  const embed = embedRows(wte, ids, D);
  hk.at('hook_embed', embed);
  const posEmbed = embedRows(P('transformer.wpe.weight', [c.maxPositions, D]), pos, D);
  hk.at('hook_pos_embed', posEmbed);
  let resid = add(embed, posEmbed);
  for (let l = 0; l < c.nLayers; l++) {
    const p = `transformer.h.${l}.`;
    const b = `blocks.${l}.`;
    hk.at(b + 'hook_resid_pre', resid);

    const n1 = normalize(resid, T, D, 'layernorm', c.normEps);
    hk.at(b + 'ln1.hook_normalized', n1);
    const x1 = scaleShift(n1, T, D, P(p + 'ln_1.weight', [D]), P(p + 'ln_1.bias', [D]));
    const qkv = conv1d(x1, T, D, P(p + 'attn.c_attn.weight', [D, 3 * D]), 3 * D, P(p + 'attn.c_attn.bias', [3 * D]));
    // c_attn's output columns are [q | k | v], each D wide with head h at h·dh.
    const part = (j: number) => {
      const out = new Float64Array(T * D);
      for (let t = 0; t < T; t++) for (let d = 0; d < D; d++) out[t * D + d] = qkv[t * 3 * D + j * D + d];
      return out;
    };
    const q = part(0);
    hk.at(b + 'attn.hook_q', q);
    const k = part(1);
    hk.at(b + 'attn.hook_k', k);
    const v = part(2);
    hk.at(b + 'attn.hook_v', v);
    const z = attention(c, l, q, k, v, T, hk);
    const attnOut = conv1d(z, T, H * dh, P(p + 'attn.c_proj.weight', [D, D]), D, P(p + 'attn.c_proj.bias', [D]));
    hk.at(b + 'hook_attn_out', attnOut);
    const mid = add(resid, attnOut);
    hk.at(b + 'hook_resid_mid', mid);

    const n2 = normalize(mid, T, D, 'layernorm', c.normEps);
    hk.at(b + 'ln2.hook_normalized', n2);
    const x2 = scaleShift(n2, T, D, P(p + 'ln_2.weight', [D]), P(p + 'ln_2.bias', [D]));
    const pre = conv1d(x2, T, D, P(p + 'mlp.c_fc.weight', [D, I]), I, P(p + 'mlp.c_fc.bias', [I]));
    hk.at(b + 'mlp.hook_pre', pre);
    const post = pre.map((x) => activate(x, c.act));
    hk.at(b + 'mlp.hook_post', post);
    const mlpOut = conv1d(post, T, I, P(p + 'mlp.c_proj.weight', [I, D]), D, P(p + 'mlp.c_proj.bias', [D]));
    hk.at(b + 'hook_mlp_out', mlpOut);
    resid = add(mid, mlpOut);
    hk.at(b + 'hook_resid_post', resid);
  }

  const nf = normalize(resid, T, D, 'layernorm', c.normEps);
  hk.at('ln_final.hook_normalized', nf);
  const xf = scaleShift(nf, T, D, P('transformer.ln_f.weight', [D]), P('transformer.ln_f.bias', [D]));
  const logits = linear(xf, T, D, c.tiedEmbeddings ? wte : P('lm_head.weight', [V, D]), V, null);
  hk.at('logits', logits);
  return logits;
}

// ---------------------------------------------------------------- API

/**
 * Run the model on `ids` (position ids 0..T−1 unless given; causality is by index), applying and reading hooks.
 * Logits are [T × vocab], after any logits edit.
 */
export function referenceForward(model: RefModel, ids: number[], hooks: HookSpec[] = [], positions?: number[]): { cache: Map<string, Float64Array>; logits: Float64Array } {
  const c = model.config;
  if (ids.length === 0) throw new Error('referenceForward needs at least one token');
  for (const id of ids) if (!Number.isInteger(id) || id < 0 || id >= c.vocab) throw new Error(`token id ${id} is outside 0..${c.vocab - 1}`);
  const hk = new Hooks(c, hooks, ids.length);
  const pos = positions ?? range(ids.length);
  if (pos.length !== ids.length) throw new Error('one position id per token');
  const logits = c.arch === 'gpt2' ? gpt2Forward(model, ids, hk, pos) : llamaForward(model, ids, hk, pos);
  return { cache: hk.cache, logits };
}

/** Greedy decoding by full recomputation; returns the n new tokens. Ties go to the lowest id. */
export function referenceGreedy(model: RefModel, ids: number[], n: number): number[] {
  const V = model.config.vocab;
  const seq = [...ids];
  for (let step = 0; step < n; step++) {
    const { logits } = referenceForward(model, seq);
    const last = logits.subarray((seq.length - 1) * V, seq.length * V);
    let best = 0;
    for (let i = 1; i < V; i++) if (last[i] > last[best]) best = i;
    seq.push(best);
  }
  return seq.slice(ids.length);
}
