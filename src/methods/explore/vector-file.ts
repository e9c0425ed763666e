// A steering vector loaded from a file: JSON (a number array, or an object with a "vector" array) or NumPy .npy
// (little-endian float32 / float64, shape (D,) or (1, D), C order).

export interface LoadedVector {
  vector: Float32Array;
  /** The hook the file names, when it names one (our own exports do). */
  hook?: string;
}

export function parseVectorFile(name: string, bytes: Uint8Array, width: number): LoadedVector {
  const isNpy = bytes.length >= 6 && bytes[0] === 0x93 && String.fromCharCode(...bytes.subarray(1, 6)) === 'NUMPY';
  const got = isNpy ? parseNpy(name, bytes) : parseJson(name, new TextDecoder().decode(bytes));
  if (got.vector.length !== width) throw new Error(`${name}: the vector has ${got.vector.length} entries; this model's residual stream has ${width}`);
  const bad = got.vector.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new Error(`${name}: entry ${bad} is not a finite number`);
  return got;
}

function parseJson(name: string, text: string): LoadedVector {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    throw new Error(`${name}: neither JSON nor a .npy file`);
  }
  const o = j as { vector?: unknown; hook?: unknown };
  const arr = Array.isArray(j) ? j : Array.isArray(o?.vector) ? o.vector : null;
  if (!arr || arr.some((v) => typeof v !== 'number')) throw new Error(`${name}: expected an array of numbers or {"vector": [numbers]}`);
  return { vector: Float32Array.from(arr as number[]), hook: typeof o?.hook === 'string' ? o.hook : undefined };
}

function parseNpy(name: string, b: Uint8Array): LoadedVector {
  const major = b[6];
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const hlen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = new TextDecoder('latin1').decode(b.subarray(start, start + hlen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shape === undefined) throw new Error(`${name}: unreadable .npy header`);
  const dims = shape.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (fortran === 'True' && dims.filter((d) => d > 1).length > 1) throw new Error(`${name}: Fortran-order arrays are not supported`);
  if (dims.filter((d) => d !== 1).length > 1) throw new Error(`${name}: expected a vector, got shape (${dims.join(', ')})`);
  const n = dims.reduce((a, d) => a * d, 1);
  const size = descr === '<f4' ? 4 : descr === '<f8' ? 8 : 0;
  if (!size) throw new Error(`${name}: dtype ${descr} is not supported (float32 or float64, little-endian)`);
  const off = start + hlen;
  if (b.length < off + n * size) throw new Error(`${name}: the file is shorter than its header says`);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = size === 4 ? dv.getFloat32(off + i * 4, true) : dv.getFloat64(off + i * 8, true);
  return { vector: out };
}

/** A .npy file (version 1.0, float32, shape (D,)): what the steering view exports. */
export function toNpy(v: Float32Array): Uint8Array {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${v.length},), }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(pad % 64) + '\n';
  const out = new Uint8Array(10 + header.length + v.length * 4);
  out.set([0x93, ...new TextEncoder().encode('NUMPY'), 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), 10 + header.length);
  return out;
}
