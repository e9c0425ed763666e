// Top-k SVD and PCA of an activation matrix on the GPU by randomized subspace iteration (Halko, Martinsson & Tropp
// 2011, Alg. 4.4): Y = XΩ, then q rounds of Q ← orth(X·orth(XᵀQ)), and finally W = XᵀQ, whose small SVD gives X's.
// Every product with X (n × d) runs in matmul-strided.wgsl; only l × l and d × l matrices (l = k + oversampling)
// come back. orth() is an eigen-based Cholesky-QR done twice: G = YᵀY on the GPU, G = VΛVᵀ on the host, Q = Y·VΛ^-½,
// dropping directions with λ < 1e-6·λ_max (below f32's resolution), so a matrix of rank < l is handled.
import { Pass, type Runtime } from '../../gpu/runtime';
import { matmulStrided, type Strided } from '../grad-ops';
import { seededRandom } from '../../common/rng';
import { gaussians, symEig } from './small';
import { checkFinite, standardize, toGpu, type MatrixInput } from './matrix';

export interface SvdOptions {
  /** Extra directions beyond k (default 10). */
  oversample?: number;
  /** Rounds of subspace iteration (default 4); each sharpens the gap σ_{k+1}/σ_k by its square. */
  powerIters?: number;
  seed?: number;
  /** Also return the left singular vectors (n × k, read back). */
  withU?: boolean;
}

export interface TopSvd {
  /** Singular values, descending (k of them, fewer if the matrix's rank is lower). */
  S: Float64Array;
  /** Right singular vectors, each of length d (the matrix's columns). */
  V: Float64Array[];
  /** Left singular vectors, each of length n, when asked for. */
  U?: Float64Array[];
}

const RANK_TOL = 1e-6;

/** Top-k singular triplets of X [n, d] (not centred). */
export async function topSvd(rt: Runtime, X: MatrixInput, k: number, o: SvdOptions = {}): Promise<TopSvd> {
  const x = toGpu(rt, X, 'svd input');
  try {
    if (!Number.isInteger(k) || k < 1) throw new Error(`svd: k = ${k} must be a positive integer`);
    if (k > Math.min(x.rows, x.cols)) throw new Error(`svd: k = ${k} exceeds min(rows, cols) = ${Math.min(x.rows, x.cols)}`);
    await checkFinite(rt, x, 'svd input');
    return await randomizedSvd(rt, x.buf, x.rows, x.cols, k, o);
  } finally {
    if (x.owned) x.buf.destroy();
  }
}

export interface Pca {
  mean: Float64Array;
  /** Principal axes, each of length d, by decreasing variance. */
  components: Float64Array[];
  /** Variance along each axis (S²/(n − 1)). */
  variance: Float64Array;
  /** Share of the total variance each axis explains. */
  ratio: Float64Array;
  singularValues: Float64Array;
}

/** PCA: the top-k SVD of the centred matrix. */
export async function pca(rt: Runtime, X: MatrixInput, k: number, o: Omit<SvdOptions, 'withU'> = {}): Promise<Pca> {
  const x = toGpu(rt, X, 'pca input');
  try {
    if (!Number.isInteger(k) || k < 1) throw new Error(`pca: k = ${k} must be a positive integer`);
    if (x.rows < 2) throw new Error(`pca: needs at least 2 rows, got ${x.rows}`);
    if (k > Math.min(x.rows - 1, x.cols)) throw new Error(`pca: k = ${k} exceeds min(rows − 1, cols) = ${Math.min(x.rows - 1, x.cols)}`);
    const st = await standardize(rt, x, 'pca input', 'none');
    try {
      const r = await randomizedSvd(rt, st.Z, x.rows, x.cols, k, o);
      const total = st.sumSq.reduce((a, b) => a + b, 0) / (x.rows - 1);
      const variance = r.S.map((s) => (s * s) / (x.rows - 1));
      return { mean: st.mean, components: r.V, variance, ratio: variance.map((v) => (total > 0 ? v / total : 0)), singularValues: r.S };
    } finally {
      rt.release(st.Z);
    }
  } finally {
    if (x.owned) x.buf.destroy();
  }
}

const dense = (buf: GPUBuffer, cols: number): Strided => ({ buf, rows: cols, cols: 1 });
/** The transpose of a dense row-major matrix with `cols` columns. */
const trans = (buf: GPUBuffer, cols: number): Strided => ({ buf, rows: 1, cols });

async function randomizedSvd(rt: Runtime, X: GPUBuffer, n: number, d: number, k: number, o: SvdOptions): Promise<TopSvd> {
  let l = Math.min(k + (o.oversample ?? 10), n, d);
  const taken: GPUBuffer[] = [];
  const take = (floats: number) => {
    const b = rt.take(floats * 4);
    taken.push(b);
    return b;
  };
  const Y = take(n * l); // n × l basis of the range
  const W = take(d * l); // d × l basis of the co-range
  const T = take(l * l); // small transforms
  const G = take(l * l);
  const tmpN = take(n * l);
  const tmpD = take(d * l);
  try {
    rt.write(W, gaussians(seededRandom(o.seed ?? 0), d * l));
    // Y = XΩ
    let pass = new Pass(rt);
    matmulStrided(pass, n, l, d, dense(X, d), dense(W, l), dense(Y, l));
    await pass.submit();
    /** Orthonormalise the rows × l matrix in B (twice), through tmp; returns the new column count. */
    const orth = async (B: GPUBuffer, rows: number, cols: number, tmp: GPUBuffer): Promise<number> => {
      for (let round = 0; round < 2; round++) {
        const p1 = new Pass(rt);
        matmulStrided(p1, cols, cols, rows, trans(B, cols), dense(B, cols), dense(G, cols));
        const g = p1.read(G, cols * cols * 4);
        await p1.submit();
        const { values, vectors } = symEig(await g, cols);
        const keep = values.findIndex((v) => !(v > RANK_TOL * values[0]));
        const r = keep < 0 ? cols : keep;
        if (r === 0) throw new Error('svd: the matrix is zero');
        const t = new Float32Array(cols * r);
        for (let j = 0; j < r; j++) for (let i = 0; i < cols; i++) t[i * r + j] = vectors[j][i] / Math.sqrt(values[j]);
        rt.write(T, t);
        const p2 = new Pass(rt);
        matmulStrided(p2, rows, r, cols, dense(B, cols), dense(T, r), dense(tmp, r));
        p2.copy(tmp, 0, B, 0, rows * r * 4);
        await p2.submit();
        cols = r;
      }
      return cols;
    };
    l = await orth(Y, n, l, tmpN);
    for (let q = 0; q < (o.powerIters ?? 4); q++) {
      pass = new Pass(rt);
      matmulStrided(pass, d, l, n, trans(X, d), dense(Y, l), dense(W, l));
      await pass.submit();
      l = await orth(W, d, l, tmpD);
      pass = new Pass(rt);
      matmulStrided(pass, n, l, d, dense(X, d), dense(W, l), dense(Y, l));
      await pass.submit();
      l = await orth(Y, n, l, tmpN);
    }
    // W = XᵀQ = V Σ Ũᵀ in terms of X = QŨΣVᵀ: WᵀW = ŨΣ²Ũᵀ.
    pass = new Pass(rt);
    matmulStrided(pass, d, l, n, trans(X, d), dense(Y, l), dense(W, l));
    const wRead = pass.read(W, d * l * 4);
    await pass.submit();
    const w = await wRead;
    const g = new Float64Array(l * l);
    for (let a = 0; a < l; a++) {
      for (let b = a; b < l; b++) {
        let s = 0;
        for (let i = 0; i < d; i++) s += w[i * l + a] * w[i * l + b];
        g[a * l + b] = g[b * l + a] = s;
      }
    }
    const { values, vectors } = symEig(g, l);
    const rank = values.findIndex((v) => !(v > RANK_TOL * values[0]));
    const m = Math.min(k, rank < 0 ? l : rank);
    const S = Float64Array.from({ length: m }, (_, j) => Math.sqrt(values[j]));
    const V = Array.from({ length: m }, (_, j) => {
      const v = new Float64Array(d);
      for (let i = 0; i < d; i++) {
        let s = 0;
        for (let a = 0; a < l; a++) s += w[i * l + a] * vectors[j][a];
        v[i] = s / S[j];
      }
      return v;
    });
    const out: TopSvd = { S, V };
    if (o.withU) {
      // U = Q·Ũ (n × m)
      const t = new Float32Array(l * m);
      for (let a = 0; a < l; a++) for (let j = 0; j < m; j++) t[a * m + j] = vectors[j][a];
      rt.write(T, t);
      pass = new Pass(rt);
      matmulStrided(pass, n, m, l, dense(Y, l), dense(T, m), dense(tmpN, m));
      const uRead = pass.read(tmpN, n * m * 4);
      await pass.submit();
      const u = await uRead;
      out.U = Array.from({ length: m }, (_, j) => Float64Array.from({ length: n }, (_, i) => u[i * m + j]));
    }
    return out;
  } finally {
    for (const b of taken) rt.release(b);
  }
}
