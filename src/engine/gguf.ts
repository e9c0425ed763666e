// GGUF (llama.cpp's single-file format), read from bytes in memory so the same code runs in the browser:
// magic "GGUF", version (2 or 3), tensor count, metadata key/values, tensor infos (name, dims innermost
// first, ggml type, offset), then the data section at the next multiple of general.alignment.
// Tensors are dequantized to f32 on request: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q6_K.

import type { RandomAccessFile } from './files';
import { f16ToF32 } from './safetensors';

export type GgufValue = number | bigint | boolean | string | GgufValue[];

export interface GgufTensor {
  name: string;
  /** Dimensions innermost first (ggml's ne[]): a [rows, cols] matrix is [cols, rows]. */
  dims: number[];
  type: number;
  /** Byte offset from the start of the data section. */
  offset: number;
}

export interface GgufFile {
  version: number;
  metadata: Map<string, GgufValue>;
  tensors: Map<string, GgufTensor>;
  dataOffset: number;
}

/** ggml types this reader dequantizes: block size in values and in bytes. */
export const GGML_TYPES: Record<number, { name: string; block: number; bytes: number }> = {
  0: { name: 'F32', block: 1, bytes: 4 },
  1: { name: 'F16', block: 1, bytes: 2 },
  2: { name: 'Q4_0', block: 32, bytes: 18 },
  3: { name: 'Q4_1', block: 32, bytes: 20 },
  8: { name: 'Q8_0', block: 32, bytes: 34 },
  12: { name: 'Q4_K', block: 256, bytes: 144 },
  14: { name: 'Q6_K', block: 256, bytes: 210 },
  30: { name: 'BF16', block: 1, bytes: 2 },
};

const GGUF_MAGIC = 0x46554747; // "GGUF" little-endian

/** Thrown when `bytes` is only the file's first part and the header runs on past it. */
class PrefixTooShort extends Error {}

/** Parse the header from the file's first bytes (or all of it); `fileSize` is the whole file's. */
export function parseGguf(bytes: Uint8Array, source = 'GGUF file', fileSize = bytes.length): GgufFile {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  const need = (n: number, what: string) => {
    if (at + n <= bytes.length) return;
    if (bytes.length < fileSize) throw new PrefixTooShort();
    throw new Error(`${source}: truncated while reading ${what} at byte ${at} (file has ${fileSize} bytes)`);
  };
  const u32 = (what: string) => (need(4, what), (at += 4), view.getUint32(at - 4, true));
  const u64 = (what: string) => {
    need(8, what);
    const v = view.getBigUint64(at, true);
    at += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`${source}: ${what} ${v} is too large`);
    return Number(v);
  };
  const str = (what: string) => {
    const n = u64(`${what} length`);
    need(n, what);
    at += n;
    return new TextDecoder().decode(bytes.subarray(at - n, at));
  };
  const value = (type: number, what: string): GgufValue => {
    switch (type) {
      case 0: return (need(1, what), bytes[at++]);
      case 1: return (need(1, what), view.getInt8(at++));
      case 2: return (need(2, what), (at += 2), view.getUint16(at - 2, true));
      case 3: return (need(2, what), (at += 2), view.getInt16(at - 2, true));
      case 4: return u32(what);
      case 5: return (need(4, what), (at += 4), view.getInt32(at - 4, true));
      case 6: return (need(4, what), (at += 4), view.getFloat32(at - 4, true));
      case 7: return (need(1, what), bytes[at++] !== 0);
      case 8: return str(what);
      case 9: {
        const t = u32(`${what} element type`);
        const n = u64(`${what} count`);
        // Every element takes at least one byte: a larger count is a corrupt file, not a huge allocation.
        if (n > fileSize - at) throw new Error(`${source}: ${what} claims ${n} array elements but only ${fileSize - at} bytes remain`);
        const out: GgufValue[] = new Array(n);
        for (let i = 0; i < n; i++) out[i] = value(t, what);
        return out;
      }
      case 10: return (need(8, what), (at += 8), view.getBigUint64(at - 8, true));
      case 11: return (need(8, what), (at += 8), view.getBigInt64(at - 8, true));
      case 12: return (need(8, what), (at += 8), view.getFloat64(at - 8, true));
      default: throw new Error(`${source}: ${what} has unknown value type ${type}`);
    }
  };

  if (bytes.length < 4 || view.getUint32(0, true) !== GGUF_MAGIC) throw new Error(`${source}: not a GGUF file (no "GGUF" magic at the start)`);
  at = 4;
  const version = u32('version');
  if (version !== 2 && version !== 3) throw new Error(`${source}: GGUF version ${version} is not supported (2 and 3 are)`);
  const nTensors = u64('tensor count');
  const nKv = u64('metadata count');
  // A tensor info takes at least 24 bytes, a key/value at least 13.
  if (nTensors * 24 + nKv * 13 > fileSize - at) throw new Error(`${source}: header claims ${nTensors} tensors and ${nKv} metadata entries, more than its ${fileSize} bytes can hold: truncated or not a GGUF file`);
  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < nKv; i++) {
    const key = str('metadata key');
    metadata.set(key, value(u32(`type of ${key}`), key));
  }
  const tensors = new Map<string, GgufTensor>();
  for (let i = 0; i < nTensors; i++) {
    const name = str('tensor name');
    const nd = u32(`dimension count of ${name}`);
    if (nd < 1 || nd > 4) throw new Error(`${source}: tensor ${name} has ${nd} dimensions`);
    const dims: number[] = [];
    for (let d = 0; d < nd; d++) dims.push(u64(`dimension of ${name}`));
    const type = u32(`type of ${name}`);
    tensors.set(name, { name, dims, type, offset: u64(`offset of ${name}`) });
  }
  const alignment = metadata.get('general.alignment') ?? 32;
  const align = typeof alignment === 'bigint' ? Number(alignment) : alignment;
  if (typeof align !== 'number' || !Number.isInteger(align) || align <= 0 || align % 8 !== 0) {
    throw new Error(`${source}: general.alignment is ${JSON.stringify(typeof alignment === 'bigint' ? Number(alignment) : alignment)}; it must be a positive multiple of 8`);
  }
  const dataOffset = Math.ceil(at / align) * align;
  const dataSize = fileSize - dataOffset;
  for (const t of tensors.values()) {
    const ty = GGML_TYPES[t.type];
    if (!ty) continue; // refused only if the model asks for it
    const size = tensorBytes(t);
    if (t.offset + size > dataSize) throw new Error(`${source}: tensor ${t.name} [${t.offset}, ${t.offset + size}) runs past the data section (${dataSize} bytes); file truncated?`);
  }
  return { version, metadata, tensors, dataOffset };
}

export function tensorBytes(t: GgufTensor): number {
  const ty = GGML_TYPES[t.type];
  const n = t.dims.reduce((a, d) => a * d, 1);
  return (n / ty.block) * ty.bytes;
}

/** The header of a file read by ranges: its first MiB, and more while the metadata runs on (vocabularies are large). */
export async function parseGgufFile(file: RandomAccessFile, source = 'GGUF file'): Promise<GgufFile> {
  for (let n = Math.min(file.size, 2 ** 20); ; n = Math.min(file.size, n * 4)) {
    try {
      return parseGguf(await file.read(0, n), source, file.size);
    } catch (e) {
      if (!(e instanceof PrefixTooShort)) throw e;
    }
  }
}

/** Where a tensor's bytes lie in the file. */
export function tensorRange(file: GgufFile, t: GgufTensor): [number, number] {
  checkType(t);
  const start = file.dataOffset + t.offset;
  return [start, start + tensorBytes(t)];
}

function checkType(t: GgufTensor): void {
  const ty = GGML_TYPES[t.type];
  if (!ty) throw new Error(`tensor ${t.name} has ggml type ${t.type}, which is not supported (supported: ${Object.values(GGML_TYPES).map((x) => x.name).join(', ')})`);
  const n = t.dims.reduce((a, d) => a * d, 1);
  if (n % ty.block) throw new Error(`tensor ${t.name}: ${n} values is not a whole number of ${ty.name} blocks`);
}

/** The tensor as f32, in its stored order (innermost dimension fastest), from the whole file's bytes. */
export function ggufToFloat32(file: GgufFile, bytes: Uint8Array, t: GgufTensor): Float32Array {
  const [a, b] = tensorRange(file, t);
  return decodeGgufTensor(t, bytes.subarray(a, b));
}

/** The tensor as f32 from exactly its own bytes. */
export function decodeGgufTensor(t: GgufTensor, raw: Uint8Array): Float32Array {
  checkType(t);
  const ty = GGML_TYPES[t.type];
  const n = t.dims.reduce((a, d) => a * d, 1);
  const view = new DataView(raw.buffer, raw.byteOffset, tensorBytes(t));
  const out = new Float32Array(n);
  const h = (o: number) => f16ToF32(view.getUint16(o, true));
  const nb = n / ty.block;
  switch (ty.name) {
    case 'F32':
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
      break;
    case 'F16':
      for (let i = 0; i < n; i++) out[i] = h(2 * i);
      break;
    case 'BF16': {
      const f = new Float32Array(1);
      const u = new Uint32Array(f.buffer);
      for (let i = 0; i < n; i++) {
        u[0] = view.getUint16(2 * i, true) << 16;
        out[i] = f[0];
      }
      break;
    }
    case 'Q8_0':
      for (let b = 0; b < nb; b++) {
        const d = h(34 * b);
        for (let j = 0; j < 32; j++) out[32 * b + j] = d * view.getInt8(34 * b + 2 + j);
      }
      break;
    case 'Q4_0':
      // Low nibbles are the first 16 values, high nibbles the last 16; both offset by 8.
      for (let b = 0; b < nb; b++) {
        const d = h(18 * b);
        for (let j = 0; j < 16; j++) {
          const q = view.getUint8(18 * b + 2 + j);
          out[32 * b + j] = d * ((q & 15) - 8);
          out[32 * b + j + 16] = d * ((q >> 4) - 8);
        }
      }
      break;
    case 'Q4_1':
      for (let b = 0; b < nb; b++) {
        const d = h(20 * b);
        const m = h(20 * b + 2);
        for (let j = 0; j < 16; j++) {
          const q = view.getUint8(20 * b + 4 + j);
          out[32 * b + j] = d * (q & 15) + m;
          out[32 * b + j + 16] = d * (q >> 4) + m;
        }
      }
      break;
    case 'Q4_K':
      for (let b = 0; b < nb; b++) dequantQ4K(view, 144 * b, out, 256 * b);
      break;
    case 'Q6_K':
      for (let b = 0; b < nb; b++) dequantQ6K(view, 210 * b, out, 256 * b);
      break;
  }
  return out;
}

// Q4_K super-block: f16 d, f16 dmin, 12 bytes of 6-bit (scale, min) pairs for 8 sub-blocks of 32, 128 bytes of nibbles.
function dequantQ4K(v: DataView, o: number, out: Float32Array, y: number): void {
  const d = f16ToF32(v.getUint16(o, true));
  const dmin = f16ToF32(v.getUint16(o + 2, true));
  const sc = (i: number) => v.getUint8(o + 4 + i);
  const scaleMin = (j: number): [number, number] =>
    j < 4 ? [sc(j) & 63, sc(j + 4) & 63] : [(sc(j + 4) & 15) | ((sc(j - 4) >> 6) << 4), (sc(j + 4) >> 4) | ((sc(j) >> 6) << 4)];
  let q = o + 16;
  for (let c = 0; c < 4; c++) {
    const [s1, m1] = scaleMin(2 * c);
    const [s2, m2] = scaleMin(2 * c + 1);
    for (let l = 0; l < 32; l++) out[y + 64 * c + l] = d * s1 * (v.getUint8(q + l) & 15) - dmin * m1;
    for (let l = 0; l < 32; l++) out[y + 64 * c + 32 + l] = d * s2 * (v.getUint8(q + l) >> 4) - dmin * m2;
    q += 32;
  }
}

// Q6_K super-block: 128 bytes low nibbles, 64 bytes high 2-bit pairs, 16 int8 scales, f16 d; values offset by 32.
function dequantQ6K(v: DataView, o: number, out: Float32Array, y: number): void {
  const d = f16ToF32(v.getUint16(o + 208, true));
  for (let half = 0; half < 2; half++) {
    const ql = o + 64 * half;
    const qh = o + 128 + 32 * half;
    const sc = o + 192 + 8 * half;
    const base = y + 128 * half;
    for (let l = 0; l < 32; l++) {
      const is = l >> 4;
      const a = v.getUint8(ql + l);
      const b = v.getUint8(ql + l + 32);
      const hb = v.getUint8(qh + l);
      out[base + l] = d * v.getInt8(sc + is) * (((a & 15) | ((hb & 3) << 4)) - 32);
      out[base + l + 32] = d * v.getInt8(sc + is + 2) * (((b & 15) | (((hb >> 2) & 3) << 4)) - 32);
      out[base + l + 64] = d * v.getInt8(sc + is + 4) * (((a >> 4) | (((hb >> 4) & 3) << 4)) - 32);
      out[base + l + 96] = d * v.getInt8(sc + is + 6) * (((b >> 4) | (((hb >> 6) & 3) << 4)) - 32);
    }
  }
}
