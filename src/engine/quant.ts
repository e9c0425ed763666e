// Weight-only quantization done on the CPU at load time, one matrix at a time, into the packed layout
// that shaders/matmul-quant.wgsl reads. A matrix [rows, K] becomes, per row, K padded to groups of 32:
//   q8: 4 int8 per u32 (element j of a word in byte j), then one f32 scale per group (w ≈ q·s).
//   q4: 8 unsigned nibbles per u32 (element j in bits 4j..4j+3), then one u32 per group holding
//       (scale, min) as two f16 (w ≈ q·s + min). f16 keeps the group data at 4 bytes; WGSL's
//       unpack2x16float reads it without the shader-f16 feature.
//   f16: two halves per u32 (element 2i in the low half), no group data; the shader unpacks them
//       with unpack2x16float and does f32 math, so it needs no shader-f16 either.
// The packed buffer is [rows × wordsPerRow quant words | rows × groups group words].

import { f16ToF32, f32ToF16 } from './safetensors';

export type WeightDtype = 'f32' | 'f16' | 'q8' | 'q4';
export const GROUP = 32;

export interface PackedMatrix {
  dtype: WeightDtype;
  rows: number;
  cols: number;
  /** Groups of 32 per row (0 for f32 and f16). */
  groups: number;
  /** u32 words per row (cols for f32). */
  wordsPerRow: number;
  /** u32 offset of the group data (0 for f32 and f16). */
  groupOffset: number;
  words: Uint32Array;
}

/** u32 words of one row's weights (not counting group data). */
export function wordsPerRow(dtype: WeightDtype, cols: number): number {
  const groups = Math.ceil(cols / GROUP);
  return { f32: cols, f16: Math.ceil(cols / 2), q8: groups * 8, q4: groups * 4 }[dtype];
}

/** Bytes the packed form of a [rows, cols] matrix takes. */
export function packedBytes(dtype: WeightDtype, rows: number, cols: number): number {
  const groups = dtype === 'f32' || dtype === 'f16' ? 0 : Math.ceil(cols / GROUP);
  return rows * (wordsPerRow(dtype, cols) + groups) * 4;
}

export function packMatrix(dtype: WeightDtype, w: Float32Array, rows: number, cols: number, name = 'weight'): PackedMatrix {
  if (w.length !== rows * cols) throw new Error(`${name}: ${w.length} values for a [${rows}, ${cols}] matrix`);
  if (dtype === 'f32') {
    return { dtype, rows, cols, groups: 0, wordsPerRow: cols, groupOffset: 0, words: new Uint32Array(w.buffer.slice(w.byteOffset, w.byteOffset + w.byteLength)) };
  }
  if (dtype === 'f16') return packF16(w, rows, cols, name);
  const groups = Math.ceil(cols / GROUP);
  const wpr = wordsPerRow(dtype, cols);
  const words = new Uint32Array(rows * (wpr + groups));
  const groupOffset = rows * wpr;
  const f = new Float32Array(1);
  const fu = new Uint32Array(f.buffer);
  for (let r = 0; r < rows; r++) {
    const row = r * cols;
    for (let g = 0; g < groups; g++) {
      const k0 = g * GROUP;
      const k1 = Math.min(cols, k0 + GROUP);
      let lo = Infinity;
      let hi = -Infinity;
      for (let k = k0; k < k1; k++) {
        const v = w[row + k];
        if (!Number.isFinite(v)) throw new Error(`${name}: value ${v} at [${r}, ${k}] cannot be quantized`);
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      if (dtype === 'q8') {
        const s = Math.max(Math.abs(lo), Math.abs(hi)) / 127;
        f[0] = s;
        words[groupOffset + r * groups + g] = fu[0];
        const inv = s > 0 ? 1 / f[0] : 0;
        for (let k = k0; k < k1; k++) {
          const q = Math.max(-127, Math.min(127, Math.round(w[row + k] * inv)));
          const j = k - k0;
          words[r * wpr + g * 8 + (j >> 2)] |= (q & 0xff) << (8 * (j & 3));
        }
      } else {
        // Quantize against the f16-rounded scale and min the shader will see.
        const mh = f32ToF16(lo);
        const m = f16ToF32(mh);
        const sh = f32ToF16((hi - m) / 15);
        const s = f16ToF32(sh);
        words[groupOffset + r * groups + g] = (mh | (sh << 16)) >>> 0;
        const inv = s > 0 ? 1 / s : 0;
        for (let k = k0; k < k1; k++) {
          const q = Math.max(0, Math.min(15, Math.round((w[row + k] - m) * inv)));
          const j = k - k0;
          words[r * wpr + g * 4 + (j >> 3)] |= q << (4 * (j & 7));
        }
      }
    }
  }
  for (let i = 0; i < groupOffset; i++) words[i] >>>= 0;
  return { dtype, rows, cols, groups, wordsPerRow: wpr, groupOffset, words };
}

function packF16(w: Float32Array, rows: number, cols: number, name: string): PackedMatrix {
  const wpr = wordsPerRow('f16', cols);
  const words = new Uint32Array(rows * wpr);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < cols; k++) {
      const v = w[r * cols + k];
      // Beyond ±65504 f16 has only infinity (a BF16 or F32 checkpoint can hold such values).
      if (!Number.isFinite(v) || Math.abs(v) >= 65520) throw new Error(`${name}: value ${v} at [${r}, ${k}] does not fit f16 (use f32 or q8)`);
      words[r * wpr + (k >> 1)] |= f32ToF16(v) << (16 * (k & 1));
    }
  }
  return { dtype: 'f16', rows, cols, groups: 0, wordsPerRow: wpr, groupOffset: 0, words };
}

/** The f32 matrix a packed one stands for (tests, and CPU checks of the shader). */
export function unpackMatrix(p: PackedMatrix): Float32Array {
  const { rows, cols, groups, wordsPerRow: wpr, groupOffset, words } = p;
  if (p.dtype === 'f32') return new Float32Array(words.buffer.slice(0, rows * cols * 4));
  const out = new Float32Array(rows * cols);
  if (p.dtype === 'f16') {
    for (let r = 0; r < rows; r++) for (let k = 0; k < cols; k++) out[r * cols + k] = f16ToF32((words[r * wpr + (k >> 1)] >>> (16 * (k & 1))) & 0xffff);
    return out;
  }
  const f = new Float32Array(1);
  const fu = new Uint32Array(f.buffer);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < cols; k++) {
      const g = Math.floor(k / GROUP);
      const j = k - g * GROUP;
      const gw = words[groupOffset + r * groups + g];
      if (p.dtype === 'q8') {
        fu[0] = gw;
        const byte = (words[r * wpr + g * 8 + (j >> 2)] >>> (8 * (j & 3))) & 0xff;
        out[r * cols + k] = ((byte << 24) >> 24) * f[0];
      } else {
        const q = (words[r * wpr + g * 4 + (j >> 3)] >>> (4 * (j & 7))) & 15;
        out[r * cols + k] = q * f16ToF32(gw >>> 16) + f16ToF32(gw & 0xffff);
      }
    }
  }
  return out;
}
