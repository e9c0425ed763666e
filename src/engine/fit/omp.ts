// Orthogonal matching pursuit on the GPU (shaders/omp.wgsl): a k-sparse linear probe y ≈ Xβ + b. Columns are
// centred and scaled to unit norm so correlations compare; each step adds the column most correlated with the
// residual (c = Zᵀr, matmul-strided.wgsl), refits least squares on the support (its s × s Gram grows by one row
// from `dots`; Cholesky on the host) and rebuilds the residual on the GPU. Stops at k columns, or earlier when
// ‖r‖²/‖y − ȳ‖² ≤ tol or the residual is orthogonal to every unused column.
import { Pass, uniforms, type Runtime } from '../../gpu/runtime';
import { matmulStrided } from '../grad-ops';
import { grid, pipe, standardize, toGpu, type MatrixInput } from './matrix';
import { cholSolve, cholesky } from './small';

export interface OmpOptions {
  /** Stop once the residual's share of y's variance is ≤ tol (default 0: take all k columns). */
  tol?: number;
}

export interface OmpFit {
  /** Chosen columns, in the order chosen. */
  support: number[];
  /** Coefficients on the raw activations (length d, zero off the support) and the intercept. */
  coef: Float64Array;
  intercept: number;
  /** ‖r‖² / ‖y − ȳ‖² after each step. */
  residual: number[];
  /** Why it stopped. */
  stopped: 'k' | 'tol' | 'orthogonal';
}

export async function omp(rt: Runtime, X: MatrixInput, y: ArrayLike<number>, k: number, o: OmpOptions = {}): Promise<OmpFit> {
  const tol = o.tol ?? 0;
  const x = toGpu(rt, X, 'omp input');
  const { rows: n, cols: d } = x;
  const taken: GPUBuffer[] = [];
  const take = (floats: number) => {
    const b = rt.take(floats * 4);
    taken.push(b);
    return b;
  };
  try {
    if (!Number.isInteger(k) || k < 1) throw new Error(`omp: k = ${k} must be a positive integer`);
    if (k > Math.min(n - 1, d)) throw new Error(`omp: k = ${k} exceeds min(rows − 1, cols) = ${Math.min(n - 1, d)}`);
    if (y.length !== n) throw new Error(`omp: ${y.length} targets for ${n} rows`);
    for (let i = 0; i < n; i++) if (!Number.isFinite(y[i])) throw new Error(`omp: target ${i} is ${y[i]}, not a finite number`);
    if (!(tol >= 0 && tol < 1)) throw new Error(`omp: tol = ${tol} must be in [0, 1)`);
    const st = await standardize(rt, x, 'omp input', 'norm');
    taken.push(st.Z);
    let ybar = 0;
    for (let i = 0; i < n; i++) ybar += y[i] / n;
    const yc = Float32Array.from({ length: n }, (_, i) => y[i] - ybar);
    const yy = yc.reduce((a, v) => a + v * v, 0);
    let raw = 0;
    for (let i = 0; i < n; i++) raw += y[i] * y[i];
    if (!(yy > 1e-12 * raw)) throw new Error('omp: the target is constant');
    const yBuf = take(n);
    const r = take(n);
    const corr = take(d);
    const supBuf = take(k);
    const coefBuf = take(k);
    const out = take(k + 1);
    rt.write(yBuf, yc);
    rt.write(r, yc);
    const binds = [st.Z, yBuf, supBuf, coefBuf, r, out];
    const support: number[] = [];
    const gram: number[][] = [];
    const b: number[] = [];
    let beta: Float64Array = new Float64Array(0);
    const residual: number[] = [];
    let stopped: OmpFit['stopped'] = 'k';
    while (support.length < k) {
      let p = new Pass(rt);
      matmulStrided(p, d, 1, n, { buf: st.Z, rows: 1, cols: d }, { buf: r, rows: 1, cols: 1 }, { buf: corr, rows: 1, cols: 1 });
      const cr = p.read(corr, d * 4);
      await p.submit();
      const c = await cr;
      let j = -1;
      for (let q = 0; q < d; q++) if (st.scale[q] !== 0 && !support.includes(q) && (j < 0 || Math.abs(c[q]) > Math.abs(c[j]))) j = q;
      // f32 correlations of an orthogonal residual are rounding noise, ~1e-6 of ‖y‖.
      if (j < 0 || Math.abs(c[j]) <= 1e-5 * Math.sqrt(yy)) {
        stopped = 'orthogonal';
        break;
      }
      const s = support.length;
      rt.write(supBuf, Uint32Array.from(support.length ? support : [0]));
      p = new Pass(rt);
      p.dispatch(pipe(p, 'omp', 'dots'), uniforms(n, d, s, j), binds, [Math.ceil((s + 1) / 64)]);
      const dr = p.read(out, (s + 1) * 4);
      await p.submit();
      const dots = await dr;
      support.push(j);
      gram.forEach((row, q) => row.push(dots[q]));
      gram.push([...Array.from(dots.subarray(0, s)), 1]);
      b.push(dots[s]);
      const S = s + 1;
      const L = cholesky(gram.flat(), S);
      if (!L || L[s * S + s] ** 2 < 1e-5) {
        support.pop();
        stopped = 'orthogonal';
        break;
      }
      beta = cholSolve(L, S, b);
      rt.write(supBuf, Uint32Array.from(support));
      rt.write(coefBuf, Float32Array.from(beta));
      p = new Pass(rt);
      p.dispatch(pipe(p, 'omp', 'residual'), uniforms(n, d, S, 0), binds, grid(n));
      await p.submit();
      let explained = 0;
      for (let q = 0; q < S; q++) explained += b[q] * beta[q];
      residual.push(Math.max(0, 1 - explained / yy));
      if (residual[residual.length - 1] <= tol) {
        stopped = support.length < k ? 'tol' : 'k';
        break;
      }
    }
    const coef = new Float64Array(d);
    support.forEach((j, q) => (coef[j] = beta[q] * st.scale[j]));
    let intercept = ybar;
    for (let j = 0; j < d; j++) intercept -= coef[j] * st.mean[j];
    return { support, coef, intercept, residual, stopped };
  } finally {
    for (const buf of taken) rt.release(buf);
    if (x.owned) x.buf.destroy();
  }
}
