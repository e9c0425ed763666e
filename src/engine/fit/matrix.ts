// What every fit takes: an activation matrix [rows, cols] (row-major f32) already in a GPU buffer (a hook read left
// on the GPU) or as host numbers, checked and standardised on the GPU (shaders/columns.wgsl).
import { Pass, uniforms, type Runtime } from '../../gpu/runtime';
import { shaders, type ShaderName } from '../../shaders';
import { grid } from '../ops';

/** A row-major f32 matrix in a GPU buffer; the caller keeps ownership. */
export interface GpuMatrix {
  buf: GPUBuffer;
  rows: number;
  cols: number;
}

/** Host data: a row-major array with its shape, or a list of equal-length rows. */
export type HostMatrix = { data: ArrayLike<number>; rows: number; cols: number } | ArrayLike<number>[];

export type MatrixInput = GpuMatrix | HostMatrix;

export function pipe(pass: Pass, name: ShaderName, entry: string, constants: Record<string, number> = {}): GPUComputePipeline {
  return pass.rt.pipeline(name, shaders[name], entry, constants);
}

export { grid };

/** Workgroups for n threads at 256 per group, folded into y past the per-dimension limit. */
export function grid256(n: number): [number, number] {
  const groups = Math.ceil(n / 256);
  return groups <= 65535 ? [groups, 1] : [65535, Math.ceil(groups / 65535)];
}

function isGpu(x: MatrixInput): x is GpuMatrix {
  return !Array.isArray(x) && 'buf' in x;
}

/**
 * The matrix on the GPU: a GPU input is checked and used as is; host data is checked for non-finite entries and
 * uploaded (`owned`: the caller destroys it). `what` names the input in errors.
 */
export function toGpu(rt: Runtime, x: MatrixInput, what: string): GpuMatrix & { owned: boolean } {
  if (isGpu(x)) {
    checkShape(rt, x.rows, x.cols, what);
    if (x.buf.size < x.rows * x.cols * 4) throw new Error(`${what}: the buffer holds ${x.buf.size} bytes, fewer than ${x.rows} × ${x.cols} f32`);
    return { ...x, owned: false };
  }
  let rows: number;
  let cols: number;
  const data = (() => {
    if (Array.isArray(x)) {
      rows = x.length;
      cols = rows ? x[0].length : 0;
      const out = new Float32Array(rows * cols);
      x.forEach((r, i) => {
        if (r.length !== cols) throw new Error(`${what}: row ${i} has ${r.length} entries, row 0 has ${cols}`);
        for (let j = 0; j < cols; j++) out[i * cols + j] = r[j];
      });
      return out;
    }
    const h = x as { data: ArrayLike<number>; rows: number; cols: number };
    ({ rows, cols } = h);
    if (h.data.length !== rows * cols) throw new Error(`${what}: ${h.data.length} values do not make a ${rows} × ${cols} matrix`);
    return h.data instanceof Float32Array ? h.data : Float32Array.from(h.data);
  })();
  checkShape(rt, rows!, cols!, what);
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) throw new Error(`${what}: entry (${Math.floor(i / cols!)}, ${i % cols!}) is ${data[i]}, not a finite number`);
  }
  return { buf: rt.createStatic(data, what), rows: rows!, cols: cols!, owned: true };
}

function checkShape(rt: Runtime, rows: number, cols: number, what: string): void {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 1 || cols < 1) throw new Error(`${what}: empty matrix (${rows} × ${cols})`);
  const lim = rt.device.limits.maxStorageBufferBindingSize;
  if (rows * cols * 4 > lim) throw new Error(`${what}: ${rows} × ${cols} f32 exceed the device's largest storage binding (${lim} bytes)`);
}

/** How columns are scaled after centring. */
export type Scaling = 'none' | 'std' | 'norm';
const MODE: Record<Scaling, number> = { none: 0, std: 1, norm: 2 };

export interface Standardized {
  /** Z = (X − mean)·scale, from the runtime's pool: give it back with rt.release(Z). */
  Z: GPUBuffer;
  mean: Float64Array;
  /** Per-column multiplier (1/std or 1/norm; 0 for a constant column, which then drops out). */
  scale: Float64Array;
  /** Σᵢ (xᵢⱼ − meanⱼ)² per column (about 0 when not centring). */
  sumSq: Float64Array;
  /** Columns with no variation. */
  constant: number[];
}

/**
 * Column means and scales, and the standardised copy. NaN or ±Inf anywhere in a column (for GPU inputs, found
 * here) is an error naming the column.
 */
export async function standardize(rt: Runtime, X: GpuMatrix, what: string, scaling: Scaling, centre = true): Promise<Standardized> {
  const { rows: n, cols: d } = X;
  const stats = rt.take(3 * d * 4);
  const Z = rt.take(n * d * 4);
  const pass = new Pass(rt);
  const u = uniforms(n, d, MODE[scaling], centre ? 1 : 0);
  pass.dispatch(pipe(pass, 'columns', 'moments'), u, [X.buf, stats, Z], [Math.ceil(d / 64)]);
  pass.dispatch(pipe(pass, 'columns', 'standardize'), u, [X.buf, stats, Z], grid256(n * d));
  const read = pass.read(stats, 3 * d * 4);
  try {
    await pass.submit();
  } finally {
    rt.release(stats);
  }
  const s = await read;
  const mean = Float64Array.from(s.subarray(0, d));
  const scale = Float64Array.from(s.subarray(d, 2 * d));
  const sumSq = Float64Array.from(s.subarray(2 * d, 3 * d));
  const bad = mean.findIndex((m, j) => !Number.isFinite(m) || !Number.isFinite(scale[j]));
  if (bad >= 0) {
    rt.release(Z);
    throw new Error(`${what}: column ${bad} holds NaN or infinite values (or values too large for f32 sums)`);
  }
  const constant: number[] = [];
  if (scaling !== 'none') scale.forEach((v, j) => v === 0 && constant.push(j));
  return { Z, mean, scale, sumSq, constant };
}

/** For a GPU input (host inputs are checked on upload): NaN or ±Inf anywhere is an error naming the column. */
export async function checkFinite(rt: Runtime, X: GpuMatrix & { owned: boolean }, what: string): Promise<void> {
  if (X.owned) return;
  const { rows: n, cols: d } = X;
  const stats = rt.take(3 * d * 4);
  const pass = new Pass(rt);
  pass.dispatch(pipe(pass, 'columns', 'moments'), uniforms(n, d, 0, 0), [X.buf, stats, rt.unused(3)], [Math.ceil(d / 64)]);
  const read = pass.read(stats, d * 4);
  try {
    await pass.submit();
  } finally {
    rt.release(stats);
  }
  const bad = (await read).findIndex((m) => !Number.isFinite(m));
  if (bad >= 0) throw new Error(`${what}: column ${bad} holds NaN or infinite values (or values too large for f32 sums)`);
}

/** Check labels: integers in [0, C), every class present. Returns C. */
export function checkLabels(labels: ArrayLike<number>, n: number, classes: number | undefined, what: string): number {
  if (labels.length !== n) throw new Error(`${what}: ${labels.length} labels for ${n} rows`);
  let max = -1;
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    if (!Number.isInteger(y) || y < 0) throw new Error(`${what}: label ${i} is ${y}, not a class index ≥ 0`);
    max = Math.max(max, y);
  }
  const C = classes ?? max + 1;
  if (max >= C) throw new Error(`${what}: label ${max} is out of range for ${C} classes`);
  const count = new Array<number>(C).fill(0);
  for (let i = 0; i < n; i++) count[labels[i]]++;
  const empty = count.findIndex((c) => c === 0);
  if (empty >= 0) throw new Error(`${what}: class ${empty} has no examples`);
  return C;
}
