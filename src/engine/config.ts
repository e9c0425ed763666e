// Hugging Face config.json → the engine's ModelConfig. One place decides what an architecture means.

export type Arch = 'gpt2' | 'llama' | 'qwen2';
export type Activation = 'gelu_new' | 'gelu' | 'silu' | 'quick_gelu';

export interface RopeConfig {
  theta: number;
  /** Llama-3 frequency scaling (rope_scaling.rope_type === 'llama3'), or null. */
  llama3: null | { factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number };
}

export interface ModelConfig {
  arch: Arch;
  vocab: number;
  hidden: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  intermediate: number;
  maxPositions: number;
  norm: 'layernorm' | 'rmsnorm';
  normEps: number;
  act: Activation;
  /** Llama-style gate/up MLP (act(gate) * up). */
  gatedMlp: boolean;
  /** Bias on q, k, v projections / on the output projection / on MLP projections. */
  qkvBias: boolean;
  oBias: boolean;
  mlpBias: boolean;
  tiedEmbeddings: boolean;
  /** Rotary embedding for llama/qwen2; null for GPT-2's learned positions. */
  rope: RopeConfig | null;
  bosTokenId: number | null;
  eosTokenIds: number[];
}

export const SUPPORTED_ARCHITECTURES = ['GPT2LMHeadModel', 'LlamaForCausalLM', 'Qwen2ForCausalLM'];

type Json = Record<string, unknown>;

export function parseConfig(text: string, source = 'config.json'): ModelConfig {
  let raw: Json;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source} is not valid JSON: ${(e as Error).message}`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`${source} is not a JSON object`);
  return configFromJson(raw, source);
}

export function configFromJson(raw: Json, source = 'config.json'): ModelConfig {
  if (raw.architectures !== undefined && !(Array.isArray(raw.architectures) && raw.architectures.every((a) => typeof a === 'string'))) {
    throw new Error(`${source}: "architectures" must be a list of names such as ["LlamaForCausalLM"], got ${JSON.stringify(raw.architectures)}`);
  }
  const archs = (raw.architectures as string[] | undefined) ?? [];
  const name = archs[0] ?? String(raw.model_type ?? 'unknown');
  const bad = (key: string, v: unknown, want: string) => new Error(`${source}: "${key}" is ${JSON.stringify(v) ?? 'missing'}; it must be ${want}`);
  const num = (key: string, fallback?: number): number => {
    const v = raw[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${source}: "${key}" is missing or not a number`);
    return v;
  };
  // Sizes: a fraction or zero would silently become a different model (or NaN MiB in the memory plan).
  const size = (key: string, fallback?: number): number => {
    const v = num(key, fallback);
    if (!Number.isSafeInteger(v) || v <= 0) throw bad(key, v, 'a positive integer');
    return v;
  };
  const positive = (key: string, fallback: number): number => {
    const v = num(key, fallback);
    if (!(v > 0)) throw bad(key, v, 'a positive number');
    return v;
  };
  // A norm epsilon of 0 is legal (HF accepts it); only a negative one, or no number, is nonsense.
  const epsilon = (key: string, fallback: number): number => {
    const v = num(key, fallback);
    if (!(v >= 0)) throw bad(key, v, 'a number ≥ 0');
    return v;
  };
  const divides = (width: string, w: number, heads: string, h: number) => {
    if (w % h !== 0) throw new Error(`${source}: "${width}" ${w} is not divisible by "${heads}" ${h}`);
    return w / h;
  };
  const eos = raw.eos_token_id;
  const eosTokenIds = Array.isArray(eos) ? (eos as number[]) : typeof eos === 'number' ? [eos] : [];
  const bosTokenId = typeof raw.bos_token_id === 'number' ? raw.bos_token_id : null;

  if (name === 'GPT2LMHeadModel' || (archs.length === 0 && raw.model_type === 'gpt2')) {
    const hidden = size('n_embd');
    const nHeads = size('n_head');
    return {
      arch: 'gpt2',
      vocab: size('vocab_size'),
      hidden,
      nLayers: size('n_layer'),
      nHeads,
      nKvHeads: nHeads,
      headDim: divides('n_embd', hidden, 'n_head', nHeads),
      intermediate: raw.n_inner == null ? 4 * hidden : size('n_inner'),
      maxPositions: size('n_positions'),
      norm: 'layernorm',
      normEps: epsilon('layer_norm_epsilon', 1e-5),
      act: activation(String(raw.activation_function ?? 'gelu_new'), source),
      gatedMlp: false,
      qkvBias: true,
      oBias: true,
      mlpBias: true,
      tiedEmbeddings: raw.tie_word_embeddings !== false,
      rope: null,
      bosTokenId,
      eosTokenIds,
    };
  }
  if (name === 'LlamaForCausalLM' || name === 'Qwen2ForCausalLM') {
    const qwen = name === 'Qwen2ForCausalLM';
    const hidden = size('hidden_size');
    const nHeads = size('num_attention_heads');
    const nKvHeads = size('num_key_value_heads', nHeads);
    if (nHeads % nKvHeads !== 0) throw new Error(`${source}: num_attention_heads ${nHeads} is not a multiple of num_key_value_heads ${nKvHeads}`);
    const headDim = raw.head_dim == null ? divides('hidden_size', hidden, 'num_attention_heads', nHeads) : size('head_dim');
    // Rotary pairs dimension i with i + headDim/2.
    if (headDim % 2) throw new Error(`${source}: the head dimension ${headDim} is odd; rotary embeddings need an even one`);
    const attnBias = raw.attention_bias === true;
    return {
      arch: qwen ? 'qwen2' : 'llama',
      vocab: size('vocab_size'),
      hidden,
      nLayers: size('num_hidden_layers'),
      nHeads,
      nKvHeads,
      headDim,
      intermediate: size('intermediate_size'),
      maxPositions: size('max_position_embeddings', 2048),
      norm: 'rmsnorm',
      normEps: epsilon('rms_norm_eps', 1e-6),
      act: activation(String(raw.hidden_act ?? 'silu'), source),
      gatedMlp: true,
      qkvBias: qwen || attnBias,
      oBias: !qwen && attnBias,
      mlpBias: raw.mlp_bias === true,
      tiedEmbeddings: raw.tie_word_embeddings === true,
      rope: rope(raw, source, positive),
      bosTokenId,
      eosTokenIds,
    };
  }
  throw new Error(`unsupported architecture "${name}" in ${source}; supported: ${SUPPORTED_ARCHITECTURES.join(', ')}`);
}

function activation(a: string, source: string): Activation {
  const known: Record<string, Activation> = {
    gelu_new: 'gelu_new',
    gelu_pytorch_tanh: 'gelu_new',
    gelu: 'gelu',
    silu: 'silu',
    swish: 'silu',
    quick_gelu: 'quick_gelu',
  };
  const act = known[a];
  if (!act) throw new Error(`${source}: unsupported activation "${a}"; supported: ${Object.keys(known).join(', ')}`);
  return act;
}

function rope(raw: Json, source: string, positive: (key: string, fallback: number) => number): RopeConfig {
  const theta = positive('rope_theta', 10000);
  const s = raw.rope_scaling as Json | null | undefined;
  if (!s) return { theta, llama3: null };
  const type = String(s.rope_type ?? s.type ?? '');
  if (type === 'default') return { theta, llama3: null };
  if (type !== 'llama3') throw new Error(`${source}: rope_scaling type "${type}" is not supported (supported: llama3)`);
  const field = (key: string): number => {
    const v = s[key];
    if (typeof v !== 'number' || !(v > 0)) throw new Error(`${source}: rope_scaling.${key} is ${JSON.stringify(v) ?? 'missing'}; it must be a positive number`);
    return v;
  };
  const llama3 = {
    factor: field('factor'),
    lowFreqFactor: field('low_freq_factor'),
    highFreqFactor: field('high_freq_factor'),
    originalMaxPositions: field('original_max_position_embeddings'),
  };
  // The smoothing between the two wavelengths divides by their difference.
  if (llama3.highFreqFactor <= llama3.lowFreqFactor) throw new Error(`${source}: rope_scaling.high_freq_factor ${llama3.highFreqFactor} must exceed low_freq_factor ${llama3.lowFreqFactor}`);
  return { theta, llama3 };
}

/** Rotary inverse frequencies for one head (HF rotate-half layout: pairs (i, i + headDim/2)). */
export function ropeInvFreq(cfg: ModelConfig): Float64Array {
  const r = cfg.rope!;
  const half = cfg.headDim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / Math.pow(r.theta, (2 * i) / cfg.headDim);
  if (!r.llama3) return inv;
  const { factor, lowFreqFactor, highFreqFactor, originalMaxPositions } = r.llama3;
  const lowWavelen = originalMaxPositions / lowFreqFactor;
  const highWavelen = originalMaxPositions / highFreqFactor;
  for (let i = 0; i < half; i++) {
    const wavelen = (2 * Math.PI) / inv[i];
    if (wavelen > lowWavelen) inv[i] = inv[i] / factor;
    else if (wavelen >= highWavelen) {
      const smooth = (originalMaxPositions / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
      inv[i] = (1 - smooth) * (inv[i] / factor) + smooth * inv[i];
    }
  }
  return inv;
}
