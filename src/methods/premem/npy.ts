// NumPy .npy files (format versions 1.0, 2.0 and 3.0): a magic string, a Python-literal header naming dtype, order and
// shape, then the raw array. We read little-endian (or byte-sized) uint8 / int32 / int64 / float32 / float64 in C
// order, any shape, and write the same; every refusal names the file, so a bad file in a folder of hundreds is found.

export type NpyDtype = 'uint8' | 'int32' | 'int64' | 'float32' | 'float64';
export type NpyData = Uint8Array | Int32Array | BigInt64Array | Float32Array | Float64Array;

export interface NpyArray {
  dtype: NpyDtype;
  /** Dimensions, outermost first ([] for a scalar). */
  shape: number[];
  /** The elements in C order (a copy, aligned, independent of the file's bytes). */
  data: NpyData;
}

const DESCR: Record<string, { dtype: NpyDtype; size: number }> = {
  '|u1': { dtype: 'uint8', size: 1 },
  '<u1': { dtype: 'uint8', size: 1 },
  '|b1': { dtype: 'uint8', size: 1 },
  '<i4': { dtype: 'int32', size: 4 },
  '<i8': { dtype: 'int64', size: 8 },
  '<f4': { dtype: 'float32', size: 4 },
  '<f8': { dtype: 'float64', size: 8 },
};
const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** Parses a .npy file; `name` (a path) is what every error message names. */
export function readNpy(name: string, bytes: Uint8Array): NpyArray {
  if (bytes.length < 10 || MAGIC.some((m, i) => bytes[i] !== m)) throw new Error(`${name}: not a .npy file (no \\x93NUMPY magic)`);
  const major = bytes[6];
  if (major < 1 || major > 3) throw new Error(`${name}: .npy format version ${major}.${bytes[7]} is not supported (1.0 to 3.0)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const start = major === 1 ? 10 : 12;
  if (bytes.length < start) throw new Error(`${name}: corrupt .npy header (the file ends inside it)`);
  const hlen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  if (start + hlen > bytes.length) throw new Error(`${name}: corrupt .npy header (it claims ${hlen} bytes; the file has ${bytes.length - start} after the preamble)`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, start + hlen));
  const { descr, fortran, shape } = parseHeader(name, header);
  const kind = DESCR[descr];
  if (!kind) throw new Error(`${name}: dtype '${descr}' is not supported (uint8, little-endian int32 / int64 / float32 / float64)`);
  if (fortran && shape.filter((d) => d > 1).length > 1) throw new Error(`${name}: Fortran-order (column-major) arrays are not supported; save it in C order (np.ascontiguousarray)`);
  const n = shape.reduce((a, d) => a * d, 1);
  const off = start + hlen;
  const want = n * kind.size;
  if (bytes.length - off < want) throw new Error(`${name}: truncated .npy data (shape (${shape.join(', ')}) of ${kind.dtype} needs ${want} bytes, the file has ${bytes.length - off})`);
  // slice() copies into a fresh, aligned buffer: the file's data offset need not be a multiple of the element size.
  const raw = bytes.slice(off, off + want).buffer;
  const data =
    kind.dtype === 'uint8' ? new Uint8Array(raw)
    : kind.dtype === 'int32' ? new Int32Array(raw)
    : kind.dtype === 'int64' ? new BigInt64Array(raw)
    : kind.dtype === 'float32' ? new Float32Array(raw)
    : new Float64Array(raw);
  return { dtype: kind.dtype, shape, data };
}

// The header is a Python dict literal: {'descr': '<f4', 'fortran_order': False, 'shape': (7473, 5), }
function parseHeader(name: string, header: string): { descr: string; fortran: boolean; shape: number[] } {
  const bad = (what: string) => new Error(`${name}: corrupt .npy header (${what}): ${JSON.stringify(header.trim().slice(0, 120))}`);
  const h = header.trim();
  if (!h.startsWith('{') || !h.endsWith('}')) throw bad('not a dict literal');
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]+)['"]/.exec(h)?.[1];
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)\b/.exec(h)?.[1];
  const shape = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(h)?.[1];
  if (descr === undefined) throw bad("no 'descr'");
  if (fortran === undefined) throw bad("no 'fortran_order'");
  if (shape === undefined) throw bad("no 'shape'");
  const dims = shape.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (dims.some((d) => !/^\d+$/.test(d))) throw bad(`shape (${shape}) is not a tuple of sizes`);
  return { descr, fortran: fortran === 'True', shape: dims.map(Number) };
}

/** A .npy file (version 1.0, C order) of `data` with `shape`: what the app's own runs save. */
export function writeNpy(data: Exclude<NpyData, BigInt64Array>, shape: number[]): Uint8Array<ArrayBuffer> {
  const n = shape.reduce((a, d) => a * d, 1);
  if (n !== data.length) throw new Error(`writeNpy: shape (${shape.join(', ')}) holds ${n} elements, the data has ${data.length}`);
  const descr = data instanceof Uint8Array ? '|u1' : data instanceof Int32Array ? '<i4' : data instanceof Float32Array ? '<f4' : '<f8';
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${dims}), }`;
  // NumPy pads the header with spaces and a newline so that the data starts on a 64-byte boundary.
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set(MAGIC);
  out.set([1, 0], 6);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}
