// safetensors: an 8-byte little-endian header length, a JSON header, then one flat data section.
// Pure TypeScript on Uint8Array so the same code runs in the browser and in Node.

export const DTYPE_BYTES = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
} as const;

export type Dtype = keyof typeof DTYPE_BYTES;

export interface TensorInfo {
  dtype: Dtype;
  shape: number[];
  /** Byte offsets relative to the start of the data section (begin inclusive, end exclusive). */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
  /** Absolute byte offset of the data section in the file (8 + header length). */
  dataOffset: number;
}

type Bytes = Uint8Array | ArrayBuffer;
const asU8 = (b: Bytes): Uint8Array => (b instanceof Uint8Array ? b : new Uint8Array(b));

/**
 * How many leading bytes of the file hold the length prefix and the JSON header (= the data offset).
 * Needs only the first 8 bytes, so a loader can fetch exactly the header before anything else.
 */
export function safetensorsHeaderSize(first8: Bytes, fileSize: number, source = 'safetensors file'): number {
  const b = asU8(first8);
  if (fileSize < 8 || b.length < 8) {
    throw new Error(`${source}: truncated, ${Math.min(fileSize, b.length)} bytes is shorter than the 8-byte header length`);
  }
  const view = new DataView(b.buffer, b.byteOffset, 8);
  const lo = view.getUint32(0, true);
  const hi = view.getUint32(4, true);
  const len = hi * 2 ** 32 + lo;
  if (len > fileSize - 8) {
    throw new Error(`${source}: header length ${len} runs past the end of the file (${fileSize} bytes); file truncated or not safetensors`);
  }
  return 8 + len;
}

/** Parse and validate the header from the file's leading bytes plus its total size. */
export function parseSafetensorsHeader(firstBytes: Bytes, fileSize: number, source = 'safetensors file'): SafetensorsHeader {
  const b = asU8(firstBytes);
  const dataOffset = safetensorsHeaderSize(b, fileSize, source);
  if (b.length < dataOffset) {
    throw new Error(`${source}: need the first ${dataOffset} bytes to read the header, got ${b.length}`);
  }
  let raw: unknown;
  try {
    // fatal: invalid UTF-8 is as much a corrupt header as bad JSON.
    const text = new TextDecoder('utf-8', { fatal: true }).decode(b.subarray(8, dataOffset));
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: header is not valid JSON (${(e as Error).message})`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`${source}: header is not a JSON object`);

  const dataSize = fileSize - dataOffset;
  const tensors = new Map<string, TensorInfo>();
  const metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(raw as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (!entry || typeof entry !== 'object' || Array.isArray(entry)) throw new Error(`${source}: __metadata__ is not an object`);
      // The format says string → string; writers that store numbers are tolerated rather than rejected.
      for (const [k, v] of Object.entries(entry)) metadata[k] = typeof v === 'string' ? v : JSON.stringify(v);
      continue;
    }
    tensors.set(name, tensorEntry(name, entry, dataSize, source));
  }

  // Tensors may leave holes between them, but no two may share bytes (empty tensors own none).
  const sorted = [...tensors.entries()].filter(([, t]) => t.end > t.begin).sort((a, b) => a[1].begin - b[1].begin || a[1].end - b[1].end);
  for (let i = 1; i < sorted.length; i++) {
    const [prevName, prev] = sorted[i - 1];
    const [name, cur] = sorted[i];
    if (cur.begin < prev.end) {
      throw new Error(`${source}: tensors "${prevName}" [${prev.begin}, ${prev.end}) and "${name}" [${cur.begin}, ${cur.end}) overlap`);
    }
  }
  return { tensors, metadata, dataOffset };
}

function tensorEntry(name: string, entry: unknown, dataSize: number, source: string): TensorInfo {
  const where = `${source}: tensor "${name}"`;
  if (!entry || typeof entry !== 'object') throw new Error(`${where} has no dtype/shape/data_offsets object`);
  const e = entry as Record<string, unknown>;
  const dtype = e.dtype;
  if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) {
    throw new Error(`${where} has unknown dtype ${JSON.stringify(dtype)}; known: ${Object.keys(DTYPE_BYTES).join(', ')}`);
  }
  const shape = e.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new Error(`${where} has a bad shape ${JSON.stringify(shape)} (want an array of non-negative integers)`);
  }
  const offs = e.data_offsets;
  if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0) || offs[0] > offs[1]) {
    throw new Error(`${where} has bad data_offsets ${JSON.stringify(offs)} (want [begin, end] with 0 <= begin <= end)`);
  }
  const [begin, end] = offs as [number, number];
  if (end > dataSize) {
    throw new Error(`${where} data_offsets [${begin}, ${end}] run past the data section (${dataSize} bytes); file truncated?`);
  }
  const count = (shape as number[]).reduce((a, d) => a * d, 1);
  const want = count * DTYPE_BYTES[dtype as Dtype];
  if (end - begin !== want) {
    throw new Error(`${where} spans ${end - begin} bytes but shape [${shape.join(', ')}] of ${dtype} needs ${want}`);
  }
  return { dtype: dtype as Dtype, shape: shape as number[], begin, end };
}

/** Parse a whole file held in memory. */
export function parseSafetensors(bytes: Bytes, source = 'safetensors file'): SafetensorsHeader {
  const b = asU8(bytes);
  return parseSafetensorsHeader(b, b.length, source);
}

// ---- float conversions ----

let f16Table: Float32Array | null = null;

/** Decode one IEEE binary16 bit pattern (subnormals, ±Inf and NaN included). */
export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + mant / 1024);
}

const cvtBuf = new ArrayBuffer(4);
const cvtF32 = new Float32Array(cvtBuf);
const cvtU32 = new Uint32Array(cvtBuf);

/** Round to binary16 (value is first taken as f32), round-to-nearest-even; overflow → ±Inf, NaN stays NaN. */
export function f32ToF16(value: number): number {
  cvtF32[0] = value;
  const x = cvtU32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e >= 1) {
    let r = (e << 10) | (mant >> 13);
    const rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem === 0x1000 && r & 1)) r++; // a carry into the exponent is the right answer (up to Inf)
    return sign | r;
  }
  // Subnormal half: shift the 24-bit significand so that one unit is 2^-24.
  const shift = 14 - e;
  if (shift > 25) return sign;
  const m = mant | (exp ? 0x800000 : 0);
  let r = m >>> shift;
  const rem = m & ((1 << shift) - 1);
  const halfway = 1 << (shift - 1);
  if (rem > halfway || (rem === halfway && r & 1)) r++;
  return sign | r;
}

/** Round an f32 to bfloat16 (its top 16 bits), round-to-nearest-even. */
export function f32ToBf16(value: number): number {
  cvtF32[0] = value;
  const x = cvtU32[0];
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return (x >>> 16) | 0x40; // keep NaN a (quiet) NaN
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Copy a tensor out of the file and widen it to f32. `bytes` is the whole file (or at least through the tensor). */
export function tensorToFloat32(bytes: Bytes, info: TensorInfo, dataOffset: number): Float32Array {
  const b = asU8(bytes);
  const start = dataOffset + info.begin;
  const stop = dataOffset + info.end;
  if (stop > b.length) throw new Error(`tensor bytes [${start}, ${stop}) lie past the ${b.length} bytes given`);
  const n = info.shape.reduce((a, d) => a * d, 1);
  const view = new DataView(b.buffer, b.byteOffset + start, stop - start);
  const out = new Float32Array(n);
  switch (info.dtype) {
    case 'F32':
      // slice() gives an aligned copy; DataView keeps it correct on any host byte order.
      if (littleEndianHost) out.set(new Float32Array(b.slice(start, stop).buffer));
      else for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
      break;
    case 'F64':
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(8 * i, true);
      break;
    case 'F16': {
      if (!f16Table) {
        f16Table = new Float32Array(65536);
        for (let h = 0; h < 65536; h++) f16Table[h] = f16ToF32(h);
      }
      for (let i = 0; i < n; i++) out[i] = f16Table[view.getUint16(2 * i, true)];
      break;
    }
    case 'BF16':
      for (let i = 0; i < n; i++) {
        cvtU32[0] = view.getUint16(2 * i, true) << 16;
        out[i] = cvtF32[0];
      }
      break;
    default:
      throw new Error(`tensor of dtype ${info.dtype} cannot be read as floats (supported: F32, F16, BF16, F64)`);
  }
  return out;
}

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// ---- writing ----

export type WritableDtype = 'F32' | 'F16' | 'BF16';
export interface WritableTensor {
  dtype: WritableDtype;
  shape: number[];
  data: Float32Array;
}

/**
 * Serialise tensors packed without gaps (the reference Rust reader rejects gaps). 4-byte dtypes go first, so with the
 * header space-padded to a multiple of 8 every tensor starts aligned to its element size; order is otherwise kept.
 */
export function writeSafetensors(tensors: Record<string, WritableTensor>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  const entries = Object.entries(tensors).sort((a, b) => DTYPE_BYTES[b[1].dtype] - DTYPE_BYTES[a[1].dtype]);
  for (const [name, t] of entries) {
    if (!(t.dtype in DTYPE_BYTES) || !['F32', 'F16', 'BF16'].includes(t.dtype)) {
      throw new Error(`writeSafetensors: tensor "${name}" has dtype ${t.dtype}; writable: F32, F16, BF16`);
    }
    const n = t.shape.reduce((a, d) => a * d, 1);
    if (n !== t.data.length) {
      throw new Error(`writeSafetensors: tensor "${name}" has ${t.data.length} values but shape [${t.shape.join(', ')}] holds ${n}`);
    }
    const size = n * DTYPE_BYTES[t.dtype];
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + size] };
    offset += size;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8; // trailing spaces keep the data section 8-byte aligned

  const out = new Uint8Array(8 + padded + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, padded, true);
  out.fill(0x20, 8, 8 + padded);
  out.set(json, 8);
  let pos = 8 + padded;
  for (const [, t] of entries) {
    const d = t.data;
    if (t.dtype === 'F32') {
      for (let i = 0; i < d.length; i++, pos += 4) view.setFloat32(pos, d[i], true);
    } else {
      const enc = t.dtype === 'F16' ? f32ToF16 : f32ToBf16;
      for (let i = 0; i < d.length; i++, pos += 2) view.setUint16(pos, enc(d[i]), true);
    }
  }
  return out;
}
