// Read a Hugging Face checkpoint into GPU buffers in the layout the kernels want:
// every linear weight [out, in]; q|k|v and gate|up concatenated so each is one matmul;
// each norm's weight (and bias) packed as the next matmul's prologue affine.

import type { Runtime } from '../gpu/runtime';
import type { ModelConfig } from './config';
import type { ModelFiles } from './files';
import { parseSafetensors, parseSafetensorsHeader, safetensorsHeaderSize, tensorToFloat32, type SafetensorsHeader } from './safetensors';
import { uploadMatrix } from './packed-weights';
import type { WeightDtype } from './quant';

/** Where tensors come from, by Hugging Face name, as f32 checked against the config's shape (safetensors, GGUF). */
export interface TensorSource {
  has(name: string): boolean;
  get(name: string, shape: number[]): Float32Array | Promise<Float32Array>;
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
  private constructor(private parts: Part[]) {}

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
    if (single) return new Checkpoint([single]);
    const index = await files.read('model.safetensors.index.json');
    if (!index) throw new Error(`${files.label}: no model.safetensors or model.safetensors.index.json`);
    let map: Record<string, string>;
    try {
      map = JSON.parse(new TextDecoder().decode(index)).weight_map;
    } catch (e) {
      throw new Error(`${files.label}/model.safetensors.index.json is not valid JSON: ${(e as Error).message}`);
    }
    const parts = [];
    for (const file of [...new Set(Object.values(map))]) {
      const p = await part(file);
      if (!p) throw new Error(`${files.label}: shard ${file} named in model.safetensors.index.json is missing`);
      parts.push(p);
    }
    return new Checkpoint(parts);
  }

  has(name: string): boolean {
    return this.parts.some((p) => p.header.tensors.has(name));
  }

  /** The tensor as f32, checked against the shape the config implies. */
  async get(name: string, shape: number[]): Promise<Float32Array> {
    for (const p of this.parts) {
      const info = p.header.tensors.get(name);
      if (!info) continue;
      if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i])) {
        throw new Error(`tensor ${name} in ${p.file} has shape [${info.shape}] but the config implies [${shape}]`);
      }
      const at = p.header.dataOffset;
      const bytes = await p.read(at + info.begin, at + info.end);
      return tensorToFloat32(bytes, { ...info, begin: 0, end: info.end - info.begin }, 0);
    }
    throw new Error(`tensor ${name} is missing from the checkpoint`);
  }
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

export async function loadWeights(rt: Runtime, cfg: ModelConfig, ck: TensorSource, opts: WeightOptions = {}): Promise<Weights> {
  const owned: GPUBuffer[] = [];
  let bytes = 0;
  const up = (data: Float32Array, label: string): GPUBuffer => {
    const b = rt.createStatic(data, label);
    owned.push(b);
    bytes += data.byteLength;
    return b;
  };
  const dtype = opts.dtype ?? 'f32';
  const maxBinding = opts.maxBinding ?? rt.gpu.limits.maxStorageBufferBindingSize;
  // A matrix, quantized and/or split by rows; its handle is an ordinary buffer for plain f32.
  const mat = (data: Float32Array, rows: number, cols: number, label: string, dt: WeightDtype = dtype): GPUBuffer => {
    const u = uploadMatrix(rt, data, rows, cols, dt, maxBinding, label);
    owned.push(...u.buffers);
    bytes += u.bytes;
    return u.handle;
  };
  const tableDtype: WeightDtype = dtype === 'q4' ? 'q8' : dtype;
  const lin = (w: Float32Array, b: Float32Array | null, out: number, inn: number, label: string): Linear => ({
    w: mat(w, out, inn, label),
    b: b ? up(b, label + '.bias') : null,
    out,
    in: inn,
  });
  const D = cfg.hidden;
  const I = cfg.intermediate;
  const qDim = cfg.nHeads * cfg.headDim;
  const kvDim = cfg.nKvHeads * cfg.headDim;

  try {
    return cfg.arch === 'gpt2' ? await gpt2() : await llama();
  } catch (e) {
    // A tensor that fails to load leaves nothing on the GPU.
    owned.forEach((b) => b.destroy());
    throw e;
  }

  async function gpt2(): Promise<Weights> {
    const t = (n: string, s: number[]) => ck.get(`transformer.${n}`, s);
    const norm = async (n: string): Promise<NormAffine> => ({ buf: up(concat(await t(`${n}.weight`, [D]), await t(`${n}.bias`, [D])), n), shift: true });
    const blocks: BlockWeights[] = [];
    for (let i = 0; i < cfg.nLayers; i++) {
      const h = `h.${i}`;
      // GPT-2's Conv1D stores [in, out]; the kernels want [out, in].
      blocks.push({
        ln1: await norm(`${h}.ln_1`),
        qkv: lin(transpose(await t(`${h}.attn.c_attn.weight`, [D, 3 * D]), D, 3 * D), await t(`${h}.attn.c_attn.bias`, [3 * D]), 3 * D, D, `${h}.qkv`),
        o: lin(transpose(await t(`${h}.attn.c_proj.weight`, [D, D]), D, D), await t(`${h}.attn.c_proj.bias`, [D]), D, D, `${h}.o`),
        ln2: await norm(`${h}.ln_2`),
        up: lin(transpose(await t(`${h}.mlp.c_fc.weight`, [D, I]), D, I), await t(`${h}.mlp.c_fc.bias`, [I]), I, D, `${h}.fc`),
        down: lin(transpose(await t(`${h}.mlp.c_proj.weight`, [I, D]), I, D), await t(`${h}.mlp.c_proj.bias`, [D]), D, I, `${h}.proj`),
      });
    }
    const embed = mat(await t('wte.weight', [cfg.vocab, D]), cfg.vocab, D, 'wte', tableDtype);
    const lmHead = ck.has('lm_head.weight') && !cfg.tiedEmbeddings ? mat(await ck.get('lm_head.weight', [cfg.vocab, D]), cfg.vocab, D, 'lm_head', tableDtype) : embed;
    return {
      embed,
      posEmbed: up(await t('wpe.weight', [cfg.maxPositions, D]), 'wpe'),
      blocks,
      lnFinal: await norm('ln_f'),
      lmHead,
      bytes,
      destroy: () => owned.forEach((b) => b.destroy()),
    };
  }

  async function llama(): Promise<Weights> {
    const m = (n: string, s: number[]) => ck.get(`model.${n}`, s);
    const opt = async (n: string, s: number[], present: boolean) => (present ? await m(n, s) : null);
    const rms = async (n: string): Promise<NormAffine> => ({ buf: up(await m(`${n}.weight`, [D]), n), shift: false });
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
          qkvBias, qDim + 2 * kvDim, D, `${L}.qkv`,
        ),
        o: lin(await m(`${a}.o_proj.weight`, [D, qDim]), await opt(`${a}.o_proj.bias`, [D], cfg.oBias), D, qDim, `${L}.o`),
        ln2: await rms(`${L}.post_attention_layernorm`),
        up: lin(
          concat(await m(`${L}.mlp.gate_proj.weight`, [I, D]), await m(`${L}.mlp.up_proj.weight`, [I, D])),
          cfg.mlpBias ? concat((await mb('gate', I))!, (await mb('up', I))!) : null, 2 * I, D, `${L}.gate_up`,
        ),
        down: lin(await m(`${L}.mlp.down_proj.weight`, [D, I]), await mb('down', D), D, I, `${L}.down`),
      });
    }
    const embed = mat(await m('embed_tokens.weight', [cfg.vocab, D]), cfg.vocab, D, 'embed', tableDtype);
    // Some tied checkpoints still ship lm_head.weight; the config decides.
    const lmHead = cfg.tiedEmbeddings ? embed : mat(await ck.get('lm_head.weight', [cfg.vocab, D]), cfg.vocab, D, 'lm_head', tableDtype);
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
