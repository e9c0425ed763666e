// Read a Hugging Face checkpoint into GPU buffers in the layout the kernels want:
// every linear weight [out, in]; q|k|v and gate|up concatenated so each is one matmul;
// each norm's weight (and bias) packed as the next matmul's prologue affine.

import { Pass, uniforms, type Runtime } from '../gpu/runtime';
import { shaders } from '../shaders';
import type { ModelConfig } from './config';
import type { ModelFiles } from './files';
import { parseSafetensors, parseSafetensorsHeader, safetensorsHeaderSize, tensorToFloat32, type SafetensorsHeader } from './safetensors';
import { uploadMatrix } from './packed-weights';
import type { WeightDtype } from './quant';

/** Where tensors come from, by Hugging Face name, as f32 checked against the config's shape (safetensors, GGUF). */
export interface TensorSource {
  has(name: string): boolean;
  get(name: string, shape: number[]): Float32Array | Promise<Float32Array>;
  /** Every tensor the source holds (Hugging Face names where known), so that leftovers are found. */
  names(): string[];
  /** Where the tensors come from, for messages. */
  label?: string;
}

export interface WeightOptions {
  /** Linear weights on the GPU: f32, or quantized at load (q4 keeps the embedding and lm_head at q8). */
  dtype?: WeightDtype;
  /** Split matrices larger than this many bytes by rows (default: the device's maxStorageBufferBindingSize). */
  maxBinding?: number;
}

export interface Linear {
  w: GPUBuffer;
  b: GPUBuffer | null;
  out: number;
  in: number;
}

/** A norm's elementwise weight [D] (RMSNorm) or weight then bias [2D] (LayerNorm). */
export interface NormAffine {
  buf: GPUBuffer;
  shift: boolean;
}

export interface BlockWeights {
  ln1: NormAffine;
  qkv: Linear;
  o: Linear;
  ln2: NormAffine;
  /** Gated: gate|up [2I, D]; GPT-2: c_fc [I, D]. */
  up: Linear;
  down: Linear;
}

export interface Weights {
  embed: GPUBuffer;
  posEmbed: GPUBuffer | null;
  blocks: BlockWeights[];
  lnFinal: NormAffine;
  lmHead: GPUBuffer;
  /** Bytes uploaded, for the status bar and the memory report. */
  bytes: number;
  destroy(): void;
}

interface Part {
  header: SafetensorsHeader;
  file: string;
  read(start: number, end: number): Promise<Uint8Array>;
}

/**
 * Tensors of one or more safetensors files, by name, widened to f32 on demand. Where the files can be read by
 * ranges only the headers are read up front and each tensor when it is asked for.
 */
export class Checkpoint {
  private constructor(private parts: Part[], readonly label: string) {}

  static async read(files: ModelFiles): Promise<Checkpoint> {
    const part = async (file: string): Promise<Part | null> => {
      const where = `${files.label}/${file}`;
      const ra = files.open ? await files.open(file) : undefined;
      if (ra === null) return null;
      if (ra) {
        const size = safetensorsHeaderSize(await ra.read(0, Math.min(8, ra.size)), ra.size, where);
        return { header: parseSafetensorsHeader(await ra.read(0, size), ra.size, where), file, read: (a, b) => ra.read(a, b) };
      }
      const bytes = await files.read(file);
      if (!bytes) return null;
      return { header: parseSafetensors(bytes, where), file, read: async (a, b) => bytes.subarray(a, b) };
    };
    const single = await part('model.safetensors');
    if (single) return new Checkpoint([single], files.label);
    const index = await files.read('model.safetensors.index.json');
    if (!index) throw new Error(`${files.label}: no model.safetensors or model.safetensors.index.json`);
    const map = weightMap(index, `${files.label}/model.safetensors.index.json`);
    const parts = [];
    for (const file of [...new Set(Object.values(map))]) {
      const p = await part(file);
      if (!p) throw new Error(`${files.label}: shard ${file} named in model.safetensors.index.json is missing`);
      parts.push(p);
    }
    return new Checkpoint(parts, files.label);
  }

  has(name: string): boolean {
    return this.parts.some((p) => p.header.tensors.has(name));
  }

  names(): string[] {
    return this.parts.flatMap((p) => [...p.header.tensors.keys()]);
  }

  /** The tensor as f32, checked against the shape the config implies. */
  async get(name: string, shape: number[]): Promise<Float32Array> {
    for (const p of this.parts) {
      const info = p.header.tensors.get(name);
      if (!info) continue;
      if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i])) {
        throw new Error(`tensor ${name} in ${p.file} has shape [${info.shape}] but the config implies [${shape}]`);
      }
      if (!['F32', 'F16', 'BF16', 'F64'].includes(info.dtype)) {
        throw new Error(`tensor ${name} in ${p.file} has dtype ${info.dtype}: integer or 8-bit tensors cannot be read as weights (supported: F32, F16, BF16, F64)`);
      }
      const at = p.header.dataOffset;
      const bytes = await p.read(at + info.begin, at + info.end);
      return tensorToFloat32(bytes, { ...info, begin: 0, end: info.end - info.begin }, 0);
    }
    throw new Error(`tensor ${name} is missing from the checkpoint in ${this.label}`);
  }
}

/** The shard of each tensor from a model.safetensors.index.json, checked to be a name → file-name object. */
export function weightMap(index: Uint8Array, source: string): Record<string, string> {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(index));
  } catch (e) {
    throw new Error(`${source} is not valid JSON: ${(e as Error).message}`);
  }
  const map = (raw as Record<string, unknown> | null)?.weight_map;
  if (!map || typeof map !== 'object' || Array.isArray(map)) throw new Error(`${source}: "weight_map" is ${JSON.stringify(map) ?? 'missing'}; it must be an object from tensor names to shard files`);
  for (const [name, file] of Object.entries(map)) {
    if (typeof file !== 'string' || !file.endsWith('.safetensors') || file.includes('..') || file.startsWith('/')) {
      throw new Error(`${source}: "weight_map" gives ${JSON.stringify(file)} as the shard of ${name}; want a .safetensors file name in the model folder`);
    }
  }
  return map as Record<string, string>;
}

function transpose(x: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = x[r * cols + c];
  return out;
}

function concat(...xs: Float32Array[]): Float32Array {
  const out = new Float32Array(xs.reduce((n, x) => n + x.length, 0));
  let at = 0;
  for (const x of xs) {
    out.set(x, at);
    at += x.length;
  }
  return out;
}

/**
 * Where each uploaded buffer's values came from, for naming a bad value: checkpoint tensors stacked by rows
 * (q|k|v, gate|up, a norm's weight then bias), each `rows` long; `transposed` for GPT-2's Conv1D [in, out].
 */
interface Origin {
  label: string;
  buffers: GPUBuffer[];
  cols: number;
  parts: [name: string, rows: number][];
  transposed?: boolean;
}

/** "name [r, c]" of flat index i of an uploaded matrix. */
function whereIn(o: Origin, i: number): string {
  let row = Math.floor(i / o.cols);
  const col = i % o.cols;
  for (const [name, rows] of o.parts) {
    if (row < rows) return o.cols === 1 ? `${name} [${row}]` : o.transposed ? `${name} [${col}, ${row}]` : `${name} [${row}, ${col}]`;
    row -= rows;
  }
  return `${o.label} [${i}]`;
}

/**
 * f32 weights are checked for NaN and ±Inf on the GPU after upload: one reduction per buffer, one readback for
 * all (the packed dtypes refuse them as they pack). A non-finite weight would otherwise print null logits.
 */
async function checkFinite(rt: Runtime, origins: Origin[], label?: string): Promise<void> {
  const buffers = origins.flatMap((o) => o.buffers.map((buffer, part) => ({ o, buffer, part })));
  if (!buffers.length) return;
  const pass = new Pass(rt);
  const found = pass.zeroBuffer(8 * buffers.length);
  const pipeline = rt.pipeline('finite', shaders.finite, 'count');
  buffers.forEach(({ buffer }, slot) => {
    const n = buffer.size / 4;
    pass.dispatch(pipeline, uniforms(n, slot), [buffer, found], [Math.min(1024, Math.ceil(n / 256))]);
  });
  const read = pass.read(found, 8 * buffers.length);
  await pass.submit();
  const words = new Uint32Array((await read).buffer);
  const bad: string[] = [];
  let rows = 0;
  buffers.forEach(({ o, part }, slot) => {
    if (part === 0) rows = 0;
    const count = words[2 * slot];
    const first = 0xffffffff - words[2 * slot + 1];
    // A split matrix's parts hold consecutive rows.
    if (count) bad.push(`${whereIn(o, rows * o.cols + first)} (${count} non-finite value${count > 1 ? 's' : ''} in ${o.label})`);
    rows += Math.floor(o.buffers[part].size / 4 / o.cols);
  });
  if (bad.length) throw new Error(`${label ? `${label}: ` : ''}the weights hold NaN or infinite values, first at: ${bad.slice(0, 5).join('; ')}${bad.length > 5 ? `; and ${bad.length - 5} more buffers` : ''}`);
}

/** Tensors a checkpoint may carry that no config reads: rotary caches and GPT-2's causal-mask buffers. */
const BUFFERS = /(\.rotary_emb\.inv_freq|\.attn\.bias|\.attn\.masked_bias)$/;

/** Tensors the config did not ask for: more layers than it says, or tensors of another model. */
function checkLeftovers(cfg: ModelConfig, ck: TensorSource, used: Set<string>): void {
  const left = ck.names().filter((n) => !used.has(n) && !BUFFERS.test(n) && !(n === 'lm_head.weight' && cfg.tiedEmbeddings));
  if (!left.length) return;
  const layers = [...new Set(left.flatMap((n) => /^(?:model\.layers|transformer\.h)\.(\d+)\./.exec(n)?.[1] ?? []).map(Number))].sort((a, b) => a - b);
  const key = cfg.arch === 'gpt2' ? 'n_layer' : 'num_hidden_layers';
  const where = ck.label ? `${ck.label}: ` : '';
  if (layers.length && layers[layers.length - 1] >= cfg.nLayers) {
    throw new Error(`${where}the config says ${key} ${cfg.nLayers} but the weights also hold layer${layers.length > 1 ? 's' : ''} ${layers.join(', ')}; fix ${key} (the extra layers would be silently dropped)`);
  }
  throw new Error(`${where}the weights hold ${left.length} tensor${left.length > 1 ? 's' : ''} this ${cfg.arch} config does not use (${left.slice(0, 5).join(', ')}${left.length > 5 ? ', …' : ''}); the config and the weights are of different models`);
}

export async function loadWeights(rt: Runtime, cfg: ModelConfig, ck: TensorSource, opts: WeightOptions = {}): Promise<Weights> {
  const owned: GPUBuffer[] = [];
  const origins: Origin[] = [];
  const used = new Set<string>();
  const get = (name: string, shape: number[]) => (used.add(name), ck.get(name, shape));
  let bytes = 0;
  const up = (data: Float32Array, label: string, parts: Origin['parts']): GPUBuffer => {
    const b = rt.createStatic(data, label);
    owned.push(b);
    origins.push({ label, buffers: [b], cols: 1, parts });
    bytes += data.byteLength;
    return b;
  };
  const dtype = opts.dtype ?? 'f32';
  const maxBinding = opts.maxBinding ?? rt.gpu.limits.maxStorageBufferBindingSize;
  // A matrix, quantized and/or split by rows; its handle is an ordinary buffer for plain f32.
  const mat = (data: Float32Array, rows: number, cols: number, label: string, parts: Origin['parts'], dt: WeightDtype = dtype, transposed = false): GPUBuffer => {
    const u = uploadMatrix(rt, data, rows, cols, dt, maxBinding, label);
    owned.push(...u.buffers);
    if (dt === 'f32') origins.push({ label, buffers: u.buffers, cols, parts, transposed });
    bytes += u.bytes;
    return u.handle;
  };
  const tableDtype: WeightDtype = dtype === 'q4' ? 'q8' : dtype;
  const lin = (w: Float32Array, b: Float32Array | null, out: number, inn: number, label: string, parts: Origin['parts'], transposed = false): Linear => ({
    w: mat(w, out, inn, label, parts, dtype, transposed),
    b: b ? up(b, label + '.bias', parts.map(([n, r]) => [n.replace(/weight$/, 'bias'), r])) : null,
    out,
    in: inn,
  });
  const D = cfg.hidden;
  const I = cfg.intermediate;
  const qDim = cfg.nHeads * cfg.headDim;
  const kvDim = cfg.nKvHeads * cfg.headDim;

  try {
    const w = cfg.arch === 'gpt2' ? await gpt2() : await llama();
    checkLeftovers(cfg, ck, used);
    await checkFinite(rt, origins, ck.label);
    return w;
  } catch (e) {
    // A tensor that fails to load leaves nothing on the GPU.
    owned.forEach((b) => b.destroy());
    throw e;
  }

  async function gpt2(): Promise<Weights> {
    const t = (n: string, s: number[]) => get(`transformer.${n}`, s);
    const T = (n: string) => `transformer.${n}`;
    const norm = async (n: string): Promise<NormAffine> => ({ buf: up(concat(await t(`${n}.weight`, [D]), await t(`${n}.bias`, [D])), n, [[T(`${n}.weight`), D], [T(`${n}.bias`), D]]), shift: true });
    // GPT-2's Conv1D stores [in, out]; the kernels want [out, in].
    const conv = async (n: string, inn: number, out: number, label: string) =>
      lin(transpose(await t(`${n}.weight`, [inn, out]), inn, out), await t(`${n}.bias`, [out]), out, inn, label, [[T(`${n}.weight`), out]], true);
    const blocks: BlockWeights[] = [];
    for (let i = 0; i < cfg.nLayers; i++) {
      const h = `h.${i}`;
      blocks.push({
        ln1: await norm(`${h}.ln_1`),
        qkv: await conv(`${h}.attn.c_attn`, D, 3 * D, `${h}.qkv`),
        o: await conv(`${h}.attn.c_proj`, D, D, `${h}.o`),
        ln2: await norm(`${h}.ln_2`),
        up: await conv(`${h}.mlp.c_fc`, D, I, `${h}.fc`),
        down: await conv(`${h}.mlp.c_proj`, I, D, `${h}.proj`),
      });
    }
    const embed = mat(await t('wte.weight', [cfg.vocab, D]), cfg.vocab, D, 'wte', [[T('wte.weight'), cfg.vocab]], tableDtype);
    const lmHead = ck.has('lm_head.weight') && !cfg.tiedEmbeddings ? mat(await get('lm_head.weight', [cfg.vocab, D]), cfg.vocab, D, 'lm_head', [['lm_head.weight', cfg.vocab]], tableDtype) : embed;
    return {
      embed,
      posEmbed: up(await t('wpe.weight', [cfg.maxPositions, D]), 'wpe', [[T('wpe.weight'), cfg.maxPositions * D]]),
      blocks,
      lnFinal: await norm('ln_f'),
      lmHead,
      bytes,
      destroy: () => owned.forEach((b) => b.destroy()),
    };
  }

  async function llama(): Promise<Weights> {
    const M = (n: string) => `model.${n}`;
    const m = (n: string, s: number[]) => get(M(n), s);
    const opt = async (n: string, s: number[], present: boolean) => (present ? await m(n, s) : null);
    const rms = async (n: string): Promise<NormAffine> => ({ buf: up(await m(`${n}.weight`, [D]), n, [[M(`${n}.weight`), D]]), shift: false });
    const blocks: BlockWeights[] = [];
    for (let i = 0; i < cfg.nLayers; i++) {
      const L = `layers.${i}`;
      const a = `${L}.self_attn`;
      const bias = (p: string, n: number) => opt(`${a}.${p}_proj.bias`, [n], cfg.qkvBias);
      const qkvBias = cfg.qkvBias ? concat((await bias('q', qDim))!, (await bias('k', kvDim))!, (await bias('v', kvDim))!) : null;
      const mb = (p: string, n: number) => opt(`${L}.mlp.${p}_proj.bias`, [n], cfg.mlpBias);
      blocks.push({
        ln1: await rms(`${L}.input_layernorm`),
        qkv: lin(
          concat(await m(`${a}.q_proj.weight`, [qDim, D]), await m(`${a}.k_proj.weight`, [kvDim, D]), await m(`${a}.v_proj.weight`, [kvDim, D])),
          qkvBias, qDim + 2 * kvDim, D, `${L}.qkv`, [[M(`${a}.q_proj.weight`), qDim], [M(`${a}.k_proj.weight`), kvDim], [M(`${a}.v_proj.weight`), kvDim]],
        ),
        o: lin(await m(`${a}.o_proj.weight`, [D, qDim]), await opt(`${a}.o_proj.bias`, [D], cfg.oBias), D, qDim, `${L}.o`, [[M(`${a}.o_proj.weight`), D]]),
        ln2: await rms(`${L}.post_attention_layernorm`),
        up: lin(
          concat(await m(`${L}.mlp.gate_proj.weight`, [I, D]), await m(`${L}.mlp.up_proj.weight`, [I, D])),
          cfg.mlpBias ? concat((await mb('gate', I))!, (await mb('up', I))!) : null, 2 * I, D, `${L}.gate_up`,
          [[M(`${L}.mlp.gate_proj.weight`), I], [M(`${L}.mlp.up_proj.weight`), I]],
        ),
        down: lin(await m(`${L}.mlp.down_proj.weight`, [D, I]), await mb('down', D), D, I, `${L}.down`, [[M(`${L}.mlp.down_proj.weight`), D]]),
      });
    }
    const embed = mat(await m('embed_tokens.weight', [cfg.vocab, D]), cfg.vocab, D, 'embed', [[M('embed_tokens.weight'), cfg.vocab]], tableDtype);
    // Some tied checkpoints still ship lm_head.weight; the config decides.
    const lmHead = cfg.tiedEmbeddings ? embed : mat(await get('lm_head.weight', [cfg.vocab, D]), cfg.vocab, D, 'lm_head', [['lm_head.weight', cfg.vocab]], tableDtype);
    return {
      embed,
      posEmbed: null,
      blocks,
      lnFinal: await rms('norm'),
      lmHead,
      bytes,
      destroy: () => owned.forEach((b) => b.destroy()),
    };
  }
}
