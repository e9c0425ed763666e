// A GGUF file as a model: its metadata as a Hugging Face-style config, its llama.cpp tensor names as the
// Hugging Face names the weight loader asks for, and (best effort) its embedded tokenizer as tokenizer.json.

import { configFromJson, type ModelConfig } from './config';
import type { RandomAccessFile } from './files';
import { decodeGgufTensor, ggufToFloat32, parseGguf, parseGgufFile, tensorRange, type GgufFile, type GgufValue } from './gguf';
import type { TensorSource } from './weights';

const ARCHS: Record<string, string> = { llama: 'LlamaForCausalLM', qwen2: 'Qwen2ForCausalLM' };

const LAYER_PARTS: Record<string, string> = {
  'input_layernorm.weight': 'attn_norm.weight',
  'post_attention_layernorm.weight': 'ffn_norm.weight',
  'self_attn.q_proj.weight': 'attn_q.weight',
  'self_attn.k_proj.weight': 'attn_k.weight',
  'self_attn.v_proj.weight': 'attn_v.weight',
  'self_attn.o_proj.weight': 'attn_output.weight',
  'self_attn.q_proj.bias': 'attn_q.bias',
  'self_attn.k_proj.bias': 'attn_k.bias',
  'self_attn.v_proj.bias': 'attn_v.bias',
  'self_attn.o_proj.bias': 'attn_output.bias',
  'mlp.gate_proj.weight': 'ffn_gate.weight',
  'mlp.up_proj.weight': 'ffn_up.weight',
  'mlp.down_proj.weight': 'ffn_down.weight',
};
const LAYER_PARTS_HF = Object.fromEntries(Object.entries(LAYER_PARTS).map(([hf, g]) => [g, hf]));

/** Hugging Face name → llama.cpp name, for one layer's tensors and the rest. */
function ggufName(hf: string): string | null {
  const fixed: Record<string, string> = {
    'model.embed_tokens.weight': 'token_embd.weight',
    'model.norm.weight': 'output_norm.weight',
    'lm_head.weight': 'output.weight',
  };
  if (fixed[hf]) return fixed[hf];
  const m = /^model\.layers\.(\d+)\.(.+)$/.exec(hf);
  if (!m) return null;
  return LAYER_PARTS[m[2]] ? `blk.${m[1]}.${LAYER_PARTS[m[2]]}` : null;
}

/** llama.cpp name → Hugging Face name (the inverse of ggufName), or the GGUF name itself when it has none. */
function hfName(g: string): string {
  const fixed: Record<string, string> = { 'token_embd.weight': 'model.embed_tokens.weight', 'output_norm.weight': 'model.norm.weight', 'output.weight': 'lm_head.weight' };
  if (fixed[g]) return fixed[g];
  const m = /^blk\.(\d+)\.(.+)$/.exec(g);
  const hf = m && `model.layers.${m[1]}.${LAYER_PARTS_HF[m[2]] ?? ''}`;
  return hf && ggufName(hf) === g ? hf : g;
}

export interface GgufModel {
  config: ModelConfig;
  /** The config as Hugging Face JSON (shown to users, and what config.ts parsed). */
  configJson: Record<string, unknown>;
  tensors: TensorSource;
  /** tokenizer.json built from the embedded vocabulary, or null with the reason. */
  tokenizer: { json: Record<string, unknown>; config: Record<string, unknown> } | { reason: string };
}

/** A GGUF model from the whole file's bytes, or from a file read by ranges (one tensor at a time). */
export async function readGgufModel(src: Uint8Array | RandomAccessFile, source = 'model.gguf'): Promise<GgufModel> {
  const file = src instanceof Uint8Array ? parseGguf(src, source) : await parseGgufFile(src, source);
  const md = file.metadata;
  const arch = String(md.get('general.architecture') ?? 'unknown');
  const hfArch = ARCHS[arch];
  if (!hfArch) throw new Error(`unsupported architecture "${arch}" in ${source} (general.architecture); supported GGUF architectures: ${Object.keys(ARCHS).join(', ')}`);
  const num = (k: string): number | undefined => {
    const v = md.get(`${arch}.${k}`);
    if (v === undefined) return undefined;
    if (typeof v === 'number') return v;
    if (typeof v === 'bigint') return Number(v);
    throw new Error(`${source}: metadata ${arch}.${k} is ${JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? Number(x) : x))?.slice(0, 80)}; it must be a number`);
  };
  const req = (k: string): number => {
    const v = num(k);
    if (v === undefined) throw new Error(`${source}: metadata ${arch}.${k} is missing`);
    return v;
  };
  const embd = file.tensors.get('token_embd.weight');
  if (!embd) throw new Error(`tensor token_embd.weight is missing from ${source}`);
  const hidden = req('embedding_length');
  const nHeads = req('attention.head_count');
  const tokens = md.get('tokenizer.ggml.tokens');
  const configJson: Record<string, unknown> = {
    architectures: [hfArch],
    model_type: arch,
    hidden_size: hidden,
    intermediate_size: req('feed_forward_length'),
    num_hidden_layers: req('block_count'),
    num_attention_heads: nHeads,
    num_key_value_heads: num('attention.head_count_kv') ?? nHeads,
    vocab_size: embd.dims[1] ?? (Array.isArray(tokens) ? tokens.length : undefined),
    max_position_embeddings: num('context_length') ?? 2048,
    rms_norm_eps: num('attention.layer_norm_rms_epsilon') ?? 1e-5,
    rope_theta: num('rope.freq_base') ?? 10000,
    hidden_act: 'silu',
    tie_word_embeddings: !file.tensors.has('output.weight'),
    bos_token_id: num2(md.get('tokenizer.ggml.bos_token_id')),
    eos_token_id: num2(md.get('tokenizer.ggml.eos_token_id')),
  };
  const keyLength = num('attention.key_length');
  if (keyLength !== undefined && keyLength !== hidden / nHeads) configJson.head_dim = keyLength;
  if (arch === 'llama' && file.tensors.has('rope_freqs.weight')) {
    // Llama 3.1+ carry their rope scaling as a frequency tensor; the engine takes it from rope_scaling only.
    throw new Error(`${source}: rope scaling given as a rope_freqs tensor (Llama 3.1+) is not supported from GGUF; load the safetensors model instead`);
  }
  const config = configFromJson(configJson, `${source} (GGUF metadata)`);
  return { config, configJson, tensors: ggufTensors(file, src, config, arch, source), tokenizer: ggufTokenizer(md) };
}

const num2 = (v: GgufValue | undefined) => (typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : undefined);

function ggufTensors(file: GgufFile, src: Uint8Array | RandomAccessFile, cfg: ModelConfig, arch: string, source: string): TensorSource {
  const decode = async (t: Parameters<typeof decodeGgufTensor>[0]) => {
    if (src instanceof Uint8Array) return ggufToFloat32(file, src, t);
    const [a, b] = tensorRange(file, t);
    return decodeGgufTensor(t, await src.read(a, b));
  };
  return {
    label: source,
    names: () => [...file.tensors.keys()].map(hfName),
    has: (hf) => {
      const g = ggufName(hf);
      return g !== null && file.tensors.has(g);
    },
    async get(hf, shape) {
      const g = ggufName(hf);
      const t = g ? file.tensors.get(g) : undefined;
      if (!t) throw new Error(`tensor ${g ?? hf} (${hf}) is missing from ${source}`);
      const dims = [...t.dims].reverse();
      if (dims.length !== shape.length || dims.some((d, i) => d !== shape[i])) {
        throw new Error(`tensor ${g} in ${source} has shape [${dims}] but the metadata implies [${shape}]`);
      }
      const data = await decode(t);
      // convert_hf_to_gguf permutes llama's q/k rows (per head: pairs (i, i + d/2) made adjacent) for
      // llama.cpp's interleaved rotary; the engine rotates halves as Hugging Face does, so undo it.
      if (arch === 'llama' && /attn_[qk]\.(weight|bias)$/.test(g!)) {
        const heads = g!.includes('attn_q') ? cfg.nHeads : cfg.nKvHeads;
        return unpermute(data, heads, shape[0], shape.length > 1 ? shape[1] : 1);
      }
      return data;
    },
  };
}

/** Row h·d + 2i + s of the GGUF tensor is row h·d + s·d/2 + i of the Hugging Face one. */
export function unpermute(x: Float32Array, heads: number, rows: number, cols: number): Float32Array {
  const d = rows / heads;
  const half = d / 2;
  const out = new Float32Array(x.length);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      for (let s = 0; s < 2; s++) {
        const from = (h * d + 2 * i + s) * cols;
        const to = (h * d + s * half + i) * cols;
        out.set(x.subarray(from, from + cols), to);
      }
    }
  }
  return out;
}

/**
 * tokenizer.json from tokenizer.ggml.*: byte-level BPE (model "gpt2": GPT-2, Llama 3, Qwen2, SmolLM) with its
 * stored merges, and SentencePiece BPE (model "llama": Llama 2, TinyLlama, Mistral) with merges rebuilt from
 * the vocabulary and scores, written as Hugging Face writes Llama 2's tokenizer.json (byte fallback, "▁").
 */
function ggufTokenizer(md: Map<string, GgufValue>): GgufModel['tokenizer'] {
  const kind = md.get('tokenizer.ggml.model');
  const tokens = md.get('tokenizer.ggml.tokens');
  if (kind === undefined || !Array.isArray(tokens)) return { reason: 'the GGUF file has no embedded tokenizer' };
  const types = md.get('tokenizer.ggml.token_type');
  const type = (i: number) => (Array.isArray(types) ? Number(types[i]) : 1);
  const vocab: Record<string, number> = {};
  tokens.forEach((t, i) => (vocab[String(t)] = i));
  // Token type 3 is "control" (<s>, <|endoftext|>), 4 "user defined": kept whole, never split.
  const added = tokens.flatMap((t, i) => (type(i) === 3 || type(i) === 4 ? [{ id: i, content: String(t), special: type(i) === 3, single_word: false, lstrip: false, rstrip: false, normalized: false }] : []));
  const name = (k: string) => {
    const id = num2(md.get(`tokenizer.ggml.${k}_token_id`));
    return id !== undefined && id < tokens.length ? String(tokens[id]) : null;
  };
  const bos = name('bos');
  const addBos = md.get('tokenizer.ggml.add_bos_token') ?? kind === 'llama';
  const config: Record<string, unknown> = { bos_token: bos, eos_token: name('eos'), unk_token: name('unknown'), add_bos_token: addBos === true };
  const template = md.get('tokenizer.chat_template');
  if (typeof template === 'string') config.chat_template = template;
  // Prepends BOS when the file says to (SentencePiece models do by default).
  const post = addBos === true && bos
    ? { type: 'TemplateProcessing', single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }], pair: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }], special_tokens: { [bos]: { id: bos, ids: [vocab[bos]], tokens: [bos] } } }
    : null;

  if (kind === 'gpt2') {
    const merges = md.get('tokenizer.ggml.merges');
    if (!Array.isArray(merges)) return { reason: 'the embedded BPE tokenizer has no merges' };
    const json = {
      version: '1.0',
      added_tokens: added,
      normalizer: null,
      pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      post_processor: post,
      decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
      model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab, merges: merges.map(String) },
    };
    return { json, config };
  }
  if (kind === 'llama') {
    const scores = md.get('tokenizer.ggml.scores');
    if (!Array.isArray(scores)) return { reason: 'the embedded SentencePiece tokenizer has no scores' };
    const json = {
      version: '1.0',
      added_tokens: added,
      normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] },
      pre_tokenizer: null,
      post_processor: post,
      decoder: { type: 'Sequence', decoders: [{ type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 }] },
      model: { type: 'BPE', dropout: null, unk_token: name('unknown') ?? '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: true, byte_fallback: true, vocab, merges: spmMerges(tokens.map(String), scores.map(Number), type) },
    };
    return { json, config };
  }
  return { reason: `embedded tokenizer of type "${String(kind)}" is not rebuilt (byte-level BPE "gpt2" and SentencePiece "llama" are)` };
}

/**
 * SentencePiece BPE keeps scores, not merges: every split of a normal piece into two pieces of the vocabulary
 * is a merge, and a merge whose result scores higher is applied first (ties: the earlier left, then right piece).
 */
export function spmMerges(pieces: string[], scores: number[], type: (i: number) => number): string[] {
  const id = new Map(pieces.map((p, i) => [p, i]));
  const found: { left: number; right: number; score: number }[] = [];
  pieces.forEach((p, i) => {
    if (type(i) !== 1) return;
    const chars = [...p];
    for (let k = 1; k < chars.length; k++) {
      const left = id.get(chars.slice(0, k).join(''));
      const right = id.get(chars.slice(k).join(''));
      if (left !== undefined && right !== undefined) found.push({ left, right, score: scores[i] });
    }
  });
  found.sort((a, b) => b.score - a.score || a.left - b.left || a.right - b.right);
  return found.map((m) => `${pieces[m.left]} ${pieces[m.right]}`);
}
