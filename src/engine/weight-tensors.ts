// The model's f32 weight buffers named by the Hugging Face tensors they hold: the inverse of weights.ts's
// upload (q|k|v and gate|up stacked by rows, a LayerNorm's weight then bias in one buffer, GPT-2's Conv1D
// transposed to [out, in]). Full fine-tuning trains these buffers and writes them back as HF tensors.

import type { ModelConfig } from './config';
import type { Weights } from './weights';
import { packedWeightOf } from './packed-weights';

export interface HfPart {
  /** Hugging Face tensor name, e.g. model.layers.0.self_attn.q_proj.weight. */
  name: string;
  /** Its shape in the checkpoint. */
  shape: number[];
  /** Rows of the engine buffer it fills (rows of `cols` floats). */
  rows: number;
}

export interface WeightTensor {
  /** Engine name: embed, pos_embed, blocks.N.{ln1,qkv,qkv_bias,o,o_bias,ln2,up,up_bias,down,down_bias}, ln_final, lm_head. */
  name: string;
  buf: GPUBuffer;
  /** Floats in the buffer. */
  n: number;
  /** Row width in the engine's layout. */
  cols: number;
  parts: HfPart[];
  /** GPT-2's Conv1D: the checkpoint holds the transpose [in, out] of each part. */
  transposed: boolean;
}

/** Every weight buffer of the model with the checkpoint tensors it holds; a tied lm_head is the embedding's buffer, listed once. */
export function weightTensors(cfg: ModelConfig, w: Weights): WeightTensor[] {
  const D = cfg.hidden;
  const I = cfg.intermediate;
  const qDim = cfg.nHeads * cfg.headDim;
  const kvDim = cfg.nKvHeads * cfg.headDim;
  const out: WeightTensor[] = [];
  const add = (name: string, buf: GPUBuffer, cols: number, parts: [string, number[], number][], transposed = false) => {
    const rows = parts.reduce((a, p) => a + p[2], 0);
    out.push({ name, buf, n: rows * cols, cols, parts: parts.map(([n, shape, r]) => ({ name: n, shape, rows: r })), transposed });
  };
  const gpt2 = cfg.arch === 'gpt2';
  const P = gpt2 ? 'transformer.' : 'model.';
  add('embed', w.embed, D, [[`${P}${gpt2 ? 'wte' : 'embed_tokens'}.weight`, [cfg.vocab, D], cfg.vocab]]);
  if (w.posEmbed) add('pos_embed', w.posEmbed, D, [[`${P}wpe.weight`, [cfg.maxPositions, D], cfg.maxPositions]]);
  // A norm's buffer: the weight row, then (LayerNorm) the bias row.
  const norm = (name: string, buf: GPUBuffer, hf: string) => add(name, buf, D, gpt2 ? [[`${hf}.weight`, [D], 1], [`${hf}.bias`, [D], 1]] : [[`${hf}.weight`, [D], 1]]);
  const linear = (name: string, lin: { w: GPUBuffer; b: GPUBuffer | null; in: number }, parts: [string, number][]) => {
    // GPT-2's Conv1D: one part, stored [in, out].
    add(name, lin.w, lin.in, parts.map(([n, r]) => [`${n}.weight`, gpt2 ? [lin.in, r] : [r, lin.in], r]), gpt2);
    if (lin.b) add(`${name}_bias`, lin.b, 1, parts.map(([n, r]) => [`${n}.bias`, [r], r]));
  };
  w.blocks.forEach((b, i) => {
    const L = gpt2 ? `${P}h.${i}` : `${P}layers.${i}`;
    const B = `blocks.${i}`;
    norm(`${B}.ln1`, b.ln1.buf, gpt2 ? `${L}.ln_1` : `${L}.input_layernorm`);
    linear(`${B}.qkv`, b.qkv, gpt2 ? [[`${L}.attn.c_attn`, 3 * D]] : [[`${L}.self_attn.q_proj`, qDim], [`${L}.self_attn.k_proj`, kvDim], [`${L}.self_attn.v_proj`, kvDim]]);
    linear(`${B}.o`, b.o, [[gpt2 ? `${L}.attn.c_proj` : `${L}.self_attn.o_proj`, D]]);
    norm(`${B}.ln2`, b.ln2.buf, gpt2 ? `${L}.ln_2` : `${L}.post_attention_layernorm`);
    linear(`${B}.up`, b.up, gpt2 ? [[`${L}.mlp.c_fc`, I]] : [[`${L}.mlp.gate_proj`, I], [`${L}.mlp.up_proj`, I]]);
    linear(`${B}.down`, b.down, [[gpt2 ? `${L}.mlp.c_proj` : `${L}.mlp.down_proj`, D]]);
  });
  norm('ln_final', w.lnFinal.buf, gpt2 ? `${P}ln_f` : `${P}norm`);
  if (w.lmHead !== w.embed) add('lm_head', w.lmHead, D, [['lm_head.weight', [cfg.vocab, D], cfg.vocab]]);
  return out;
}

/** The checkpoint tensors held in `values` (the buffer's contents), in Hugging Face layout. */
export function hfTensors(t: WeightTensor, values: Float32Array): { name: string; shape: number[]; data: Float32Array }[] {
  let row = 0;
  return t.parts.map((p) => {
    const data = values.slice(row * t.cols, (row + p.rows) * t.cols);
    row += p.rows;
    return { name: p.name, shape: p.shape, data: t.transposed ? transpose(data, p.rows, t.cols) : data };
  });
}

function transpose(x: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = x[r * cols + c];
  return out;
}

/**
 * The tensors `patterns` select, each a glob over checkpoint names (`*` matches anything) that matches a whole
 * name or a dot-separated tail of it ("mlp.*", "lm_head.weight", "layers.1.*"). A buffer is trained whole, so a
 * pattern that selects only some of a fused buffer's tensors (q_proj without k_proj, v_proj) is refused.
 */
export function selectTensors(all: WeightTensor[], patterns: string[]): WeightTensor[] {
  if (!patterns.length) throw new Error('no weights chosen: give at least one pattern (* trains every weight)');
  const res = patterns.map((p) => {
    if (!p.trim()) throw new Error('an empty weight pattern: give checkpoint names such as model.layers.0.mlp.* or *');
    const body = p.trim().split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');
    return { p, re: new RegExp(`(^|\\.)${body}$`), used: false };
  });
  const picked = (name: string): boolean => {
    const hits = res.filter((r) => r.re.test(name));
    for (const r of hits) r.used = true;
    return hits.length > 0;
  };
  const out: WeightTensor[] = [];
  for (const t of all) {
    const hit = t.parts.map((part) => picked(part.name));
    if (hit.every(Boolean)) out.push(t);
    else if (hit.some(Boolean)) {
      const names = t.parts.map((part) => part.name.split('.').slice(-2).join('.'));
      throw new Error(`${t.parts[hit.indexOf(true)].name} is stored fused with ${names.filter((_, i) => !hit[i]).join(', ')} (one buffer, trained whole): choose them together (e.g. ${t.parts[0].name.replace(/[^.]+\.(weight|bias)$/, '*')})`);
    }
  }
  const unused = res.filter((r) => !r.used);
  const head = unused.find((r) => r.re.test('lm_head.weight'));
  if (head && !all.some((t) => t.name === 'lm_head')) {
    throw new Error(`"${head.p}" names lm_head.weight, but this model ties its head to the token embedding (tie_word_embeddings): train ${all[0].parts[0].name}, which is both`);
  }
  if (unused.length) {
    const example = all.flatMap((t) => t.parts.map((p) => p.name)).slice(0, 4).join(', ');
    throw new Error(`weight pattern${unused.length > 1 ? 's' : ''} ${unused.map((r) => `"${r.p}"`).join(', ')} match${unused.length > 1 ? '' : 'es'} no tensor of this model (names look like ${example}, …)`);
  }
  return out;
}

/** Full fine-tuning reads and writes plain f32 buffers; packed (f16 / q8 / q4) or row-split weights are refused by name. */
export function checkTrainable(t: WeightTensor, dtype: string): void {
  const pw = packedWeightOf(t.buf);
  if (dtype !== 'f32' || pw) {
    const how = pw && pw.dtype === 'f32' ? `split by rows (${pw.parts.length} buffers: larger than the device's largest binding)` : `loaded as ${pw?.dtype ?? dtype}`;
    throw new Error(`full fine-tuning needs f32 weights, but ${t.parts[0].name} is ${how}: load the model with dtype f32 (--dtype f32); LoRA trains on any dtype`);
  }
}
