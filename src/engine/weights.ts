// Read a Hugging Face checkpoint into GPU buffers in the layout the kernels want:
// every linear weight [out, in]; q|k|v and gate|up concatenated so each is one matmul;
// each norm's weight (and bias) packed as the next matmul's prologue affine.

import type { Runtime } from '../gpu/runtime';
import type { ModelConfig } from './config';
import type { ModelFiles } from './files';
import { parseSafetensors, tensorToFloat32, type SafetensorsHeader } from './safetensors';
import { uploadMatrix } from './packed-weights';
import type { WeightDtype } from './quant';

/** Where tensors come from, by Hugging Face name, as f32 checked against the config's shape (safetensors, GGUF). */
export interface TensorSource {
  has(name: string): boolean;
  get(name: string, shape: number[]): Float32Array;
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

/** Tensors of one or more safetensors files, by name, widened to f32 on demand. */
export class Checkpoint {
  private constructor(private parts: { bytes: Uint8Array; header: SafetensorsHeader; file: string }[]) {}

  static async read(files: ModelFiles): Promise<Checkpoint> {
    const single = await files.read('model.safetensors');
    if (single) return new Checkpoint([{ bytes: single, header: parseSafetensors(single, `${files.label}/model.safetensors`), file: 'model.safetensors' }]);
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
      const bytes = await files.read(file);
      if (!bytes) throw new Error(`${files.label}: shard ${file} named in model.safetensors.index.json is missing`);
      parts.push({ bytes, header: parseSafetensors(bytes, `${files.label}/${file}`), file });
    }
    return new Checkpoint(parts);
  }

  has(name: string): boolean {
    return this.parts.some((p) => p.header.tensors.has(name));
  }

  /** The tensor as f32, checked against the shape the config implies. */
  get(name: string, shape: number[]): Float32Array {
    for (const p of this.parts) {
      const info = p.header.tensors.get(name);
      if (!info) continue;
      if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i])) {
        throw new Error(`tensor ${name} in ${p.file} has shape [${info.shape}] but the config implies [${shape}]`);
      }
      return tensorToFloat32(p.bytes, info, p.header.dataOffset);
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

export function loadWeights(rt: Runtime, cfg: ModelConfig, ck: TensorSource, opts: WeightOptions = {}): Weights {
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

  if (cfg.arch === 'gpt2') {
    const t = (n: string, s: number[]) => ck.get(`transformer.${n}`, s);
    const norm = (n: string): NormAffine => ({ buf: up(concat(t(`${n}.weight`, [D]), t(`${n}.bias`, [D])), n), shift: true });
    const blocks: BlockWeights[] = [];
    for (let i = 0; i < cfg.nLayers; i++) {
      const h = `h.${i}`;
      // GPT-2's Conv1D stores [in, out]; the kernels want [out, in].
      blocks.push({
        ln1: norm(`${h}.ln_1`),
        qkv: lin(transpose(t(`${h}.attn.c_attn.weight`, [D, 3 * D]), D, 3 * D), t(`${h}.attn.c_attn.bias`, [3 * D]), 3 * D, D, `${h}.qkv`),
        o: lin(transpose(t(`${h}.attn.c_proj.weight`, [D, D]), D, D), t(`${h}.attn.c_proj.bias`, [D]), D, D, `${h}.o`),
        ln2: norm(`${h}.ln_2`),
        up: lin(transpose(t(`${h}.mlp.c_fc.weight`, [D, I]), D, I), t(`${h}.mlp.c_fc.bias`, [I]), I, D, `${h}.fc`),
        down: lin(transpose(t(`${h}.mlp.c_proj.weight`, [I, D]), I, D), t(`${h}.mlp.c_proj.bias`, [D]), D, I, `${h}.proj`),
      });
    }
    const embed = mat(t('wte.weight', [cfg.vocab, D]), cfg.vocab, D, 'wte', tableDtype);
    const lmHead = ck.has('lm_head.weight') && !cfg.tiedEmbeddings ? mat(ck.get('lm_head.weight', [cfg.vocab, D]), cfg.vocab, D, 'lm_head', tableDtype) : embed;
    return {
      embed,
      posEmbed: up(t('wpe.weight', [cfg.maxPositions, D]), 'wpe'),
      blocks,
      lnFinal: norm('ln_f'),
      lmHead,
      bytes,
      destroy: () => owned.forEach((b) => b.destroy()),
    };
  }

  const m = (n: string, s: number[]) => ck.get(`model.${n}`, s);
  const opt = (n: string, s: number[], present: boolean) => (present ? m(n, s) : null);
  const rms = (n: string): NormAffine => ({ buf: up(m(`${n}.weight`, [D]), n), shift: false });
  const blocks: BlockWeights[] = [];
  for (let i = 0; i < cfg.nLayers; i++) {
    const L = `layers.${i}`;
    const a = `${L}.self_attn`;
    const bias = (p: string, n: number) => opt(`${a}.${p}_proj.bias`, [n], cfg.qkvBias);
    const qkvBias = cfg.qkvBias ? concat(bias('q', qDim)!, bias('k', kvDim)!, bias('v', kvDim)!) : null;
    const mb = (p: string, n: number) => opt(`${L}.mlp.${p}_proj.bias`, [n], cfg.mlpBias);
    blocks.push({
      ln1: rms(`${L}.input_layernorm`),
      qkv: lin(
        concat(m(`${a}.q_proj.weight`, [qDim, D]), m(`${a}.k_proj.weight`, [kvDim, D]), m(`${a}.v_proj.weight`, [kvDim, D])),
        qkvBias, qDim + 2 * kvDim, D, `${L}.qkv`,
      ),
      o: lin(m(`${a}.o_proj.weight`, [D, qDim]), opt(`${a}.o_proj.bias`, [D], cfg.oBias), D, qDim, `${L}.o`),
      ln2: rms(`${L}.post_attention_layernorm`),
      up: lin(
        concat(m(`${L}.mlp.gate_proj.weight`, [I, D]), m(`${L}.mlp.up_proj.weight`, [I, D])),
        cfg.mlpBias ? concat(mb('gate', I)!, mb('up', I)!) : null, 2 * I, D, `${L}.gate_up`,
      ),
      down: lin(m(`${L}.mlp.down_proj.weight`, [D, I]), mb('down', D), D, I, `${L}.down`),
    });
  }
  const embed = mat(m('embed_tokens.weight', [cfg.vocab, D]), cfg.vocab, D, 'embed', tableDtype);
  // Some tied checkpoints still ship lm_head.weight; the config decides.
  const lmHead = cfg.tiedEmbeddings ? embed : mat(ck.get('lm_head.weight', [cfg.vocab, D]), cfg.vocab, D, 'lm_head', tableDtype);
  return {
    embed,
    posEmbed: null,
    blocks,
    lnFinal: rms('norm'),
    lmHead,
    bytes,
    destroy: () => owned.forEach((b) => b.destroy()),
  };
}
