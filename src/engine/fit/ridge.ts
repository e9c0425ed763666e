// Ridge regression / least squares probes on the GPU: minimise ‖Y − Zβ − 1bᵀ‖² + λ‖β‖² over standardised
// activations Z (λ as scikit-learn's alpha). G = ZᵀZ and ZᵀY run in matmul-strided.wgsl; ridge.wgsl (shared with
// the market-entry Monte Carlo) adds λI, factors G + λI = LLᵀ and solves every target column. A pivot L_jj² below
// 1e-5·(G_jj + λ) means column j is, to f32's precision, a combination of earlier ones: an error, not a silent
// answer (raise λ).
import { Pass, f32, uniforms, type Runtime } from '../../gpu/runtime';
import { matmulStrided } from '../grad-ops';
import { grid256, pipe, standardize, toGpu, type MatrixInput } from './matrix';

export interface RidgeOptions {
  /** λ ≥ 0 (default 1); 0 is ordinary least squares. */
  lambda?: number;
  /** Standardise columns to unit variance (default true); otherwise only centre. */
  standardize?: boolean;
}

export interface RidgeFit {
  /** Per target: coefficients on the raw activations (length d) and the intercept. */
  coef: Float64Array[];
  intercept: Float64Array;
  /** The same model on z = (x − mean)·scale: beta[target][j]. */
  beta: Float64Array[];
  mean: Float64Array;
  scale: Float64Array;
}

/** Y: one target per column (n × t), or a plain array for one target. */
export async function fitRidge(rt: Runtime, X: MatrixInput, Y: MatrixInput | ArrayLike<number>, o: RidgeOptions = {}): Promise<RidgeFit> {
  const lambda = o.lambda ?? 1;
  if (!(lambda >= 0)) throw new Error(`ridge: λ = ${lambda} must be ≥ 0`);
  const x = toGpu(rt, X, 'ridge input');
  const yIn: MatrixInput = isVector(Y) ? { data: Y, rows: Y.length, cols: 1 } : Y;
  const y = toGpu(rt, yIn, 'ridge targets');
  const taken: GPUBuffer[] = [];
  try {
    const n = x.rows;
    const P = x.cols;
    const T = y.cols;
    if (y.rows !== n) throw new Error(`ridge: ${y.rows} target rows for ${n} input rows`);
    if (n < 2) throw new Error(`ridge: needs at least 2 rows, got ${n}`);
    const sx = await standardize(rt, x, 'ridge input', o.standardize === false ? 'none' : 'std');
    taken.push(sx.Z);
    const sy = await standardize(rt, y, 'ridge targets', 'none');
    taken.push(sy.Z);
    if (lambda === 0 && sx.constant.length) {
      throw new Error(`least squares: column${sx.constant.length > 1 ? 's' : ''} ${sx.constant.slice(0, 8).join(', ')} ${sx.constant.length > 1 ? 'are' : 'is'} constant, so the system is singular; drop ${sx.constant.length > 1 ? 'them' : 'it'} or use λ > 0`);
    }
    const take = (floats: number) => {
      const b = rt.take(floats * 4);
      taken.push(b);
      return b;
    };
    const G = take(P * P);
    const A = take(P * P);
    const W = take(T * P);
    const pass = new Pass(rt);
    matmulStrided(pass, P, P, n, { buf: sx.Z, rows: 1, cols: P }, { buf: sx.Z, rows: P, cols: 1 }, { buf: G, rows: P, cols: 1 });
    matmulStrided(pass, T, P, n, { buf: sy.Z, rows: 1, cols: T }, { buf: sx.Z, rows: P, cols: 1 }, { buf: W, rows: P, cols: 1 });
    const u = uniforms(1, n, P, 0, 0, 0, T, 0, f32(lambda), 0, 0, 0);
    const un = (slot: number) => rt.unused(slot);
    const binds = [un(1), un(2), G, A, W, un(6), un(7)];
    pass.dispatch(pipe(pass, 'ridge', 'assemble'), u, binds, grid256(P * P));
    pass.dispatch(pipe(pass, 'ridge', 'cholesky'), u, binds, [1]);
    pass.dispatch(pipe(pass, 'ridge', 'solve'), u, binds, [Math.ceil(T / 64)]);
    const gRead = pass.read(G, P * P * 4);
    const aRead = pass.read(A, P * P * 4);
    const wRead = pass.read(W, T * P * 4);
    await pass.submit();
    const [g, a, w] = [await gRead, await aRead, await wRead];
    for (let j = 0; j < P; j++) {
      const pivot = a[j * P + j] ** 2;
      const ref = g[j * P + j] + lambda;
      if (ref > 0 && !(pivot >= 1e-5 * ref)) {
        throw new Error(`ridge: ZᵀZ + λI is singular to f32 precision at column ${j} (a near-combination of earlier columns); use a larger λ (now ${lambda})`);
      }
    }
    const beta = Array.from({ length: T }, (_, t) => Float64Array.from(w.subarray(t * P, (t + 1) * P)));
    const coef = beta.map((b) => b.map((v, j) => v * sx.scale[j]));
    const intercept = Float64Array.from(coef, (c, t) => sy.mean[t] - c.reduce((s, v, j) => s + v * sx.mean[j], 0));
    return { coef, intercept, beta, mean: sx.mean, scale: sx.scale };
  } finally {
    for (const b of taken) rt.release(b);
    if (x.owned) x.buf.destroy();
    if (y.owned) y.buf.destroy();
  }
}

function isVector(Y: MatrixInput | ArrayLike<number>): Y is ArrayLike<number> {
  return !Array.isArray(Y) ? !('rows' in Y) : typeof Y[0] === 'number';
}
