// Float64 CPU references for probe fitting (src/engine/fit/), written from the textbook definitions: the GPU
// fits are tested against these, and the bench's "TypeScript solver" is referenceLogistic.
// Matrices are arrays of rows.

export type Rows = ArrayLike<number>[];

/** Column means and multipliers: 'std' → 1/std (population), 'norm' → 1/‖x − μ‖, 'none' → 1; 0 for a constant column. */
export function columnStats(X: Rows, scaling: 'none' | 'std' | 'norm'): { mean: Float64Array; scale: Float64Array } {
  const n = X.length;
  const d = X[0].length;
  const mean = new Float64Array(d);
  for (const r of X) for (let j = 0; j < d; j++) mean[j] += r[j] / n;
  const ss = new Float64Array(d);
  for (const r of X) for (let j = 0; j < d; j++) ss[j] += (r[j] - mean[j]) ** 2;
  const scale = ss.map((q) => (scaling === 'none' ? 1 : q <= 0 ? 0 : scaling === 'std' ? 1 / Math.sqrt(q / n) : 1 / Math.sqrt(q)));
  return { mean, scale };
}

export function standardized(X: Rows, scaling: 'none' | 'std' | 'norm'): { Z: Float64Array[]; mean: Float64Array; scale: Float64Array } {
  const { mean, scale } = columnStats(X, scaling);
  return { Z: X.map((r) => Float64Array.from(r, (v, j) => (v - mean[j]) * scale[j])), mean, scale };
}

/** Objective of the logistic probe: mean softmax cross-entropy + λ₂/2‖W‖² + λ₁‖W‖₁ (bias unpenalised). */
export function logisticObjective(Z: Float64Array[], y: ArrayLike<number>, C: number, W: ArrayLike<number>, b: ArrayLike<number>, l2: number, l1: number): number {
  const d = Z[0].length;
  let loss = 0;
  for (const [i, z] of Z.entries()) {
    const s = Array.from({ length: C }, (_, c) => {
      let v = b[c];
      for (let j = 0; j < d; j++) v += z[j] * W[j * C + c];
      return v;
    });
    const m = Math.max(...s);
    const lse = m + Math.log(s.reduce((a, v) => a + Math.exp(v - m), 0));
    loss += (lse - s[y[i]]) / Z.length;
  }
  let pen = 0;
  for (let e = 0; e < d * C; e++) pen += (l2 / 2) * W[e] ** 2 + l1 * Math.abs(W[e]);
  return loss + pen;
}

/**
 * Multinomial logistic regression on standardised features by accelerated proximal gradient in float64, step 1/L
 * with L = ½·λ_max([Z, 1]ᵀ[Z, 1]/n) + λ₂ from a converged power iteration; stops when the gradient map's largest
 * entry is ≤ tol. W is [d, C] row-major.
 */
export function referenceLogistic(X: Rows, y: ArrayLike<number>, C: number, o: { l2: number; l1?: number; tol?: number; maxIter?: number }): {
  W: Float64Array; b: Float64Array; mean: Float64Array; scale: Float64Array; iterations: number; gradMap: number;
} {
  const { Z, mean, scale } = standardized(X, 'std');
  const n = Z.length;
  const d = Z[0].length;
  const l1 = o.l1 ?? 0;
  const tol = o.tol ?? 1e-9;
  // Power iteration for λ_max(ZᵀZ/n); the bias column adds max(·, 1) since Z is centred.
  let v = new Float64Array(d).fill(1 / Math.sqrt(d));
  let lam = 0;
  for (let it = 0; it < 1000; it++) {
    const zv = Z.map((z) => z.reduce((s, x, j) => s + x * v[j], 0));
    const w = new Float64Array(d);
    Z.forEach((z, i) => {
      for (let j = 0; j < d; j++) w[j] += (z[j] * zv[i]) / n;
    });
    const norm = Math.hypot(...w);
    if (norm === 0) break;
    const prev = lam;
    lam = norm;
    v = w.map((x) => x / norm);
    if (Math.abs(lam - prev) <= 1e-12 * lam) break;
  }
  const L = 0.5 * Math.max(lam, 1) + o.l2;
  const t = 1 / L;
  const count = (d + 1) * C;
  let x = new Float64Array(count);
  let yk = new Float64Array(count);
  let tk = 1;
  const q = o.l2 / L;
  let gradMap = Infinity;
  let it = 0;
  const maxIter = o.maxIter ?? 100000;
  while (it < maxIter) {
    it++;
    const G = new Float64Array(count);
    for (const [i, z] of Z.entries()) {
      const s = new Float64Array(C);
      for (let c = 0; c < C; c++) {
        let v2 = yk[d * C + c];
        for (let j = 0; j < d; j++) v2 += z[j] * yk[j * C + c];
        s[c] = v2;
      }
      const m = Math.max(...s);
      let sum = 0;
      for (let c = 0; c < C; c++) sum += Math.exp(s[c] - m);
      for (let c = 0; c < C; c++) {
        const r = (Math.exp(s[c] - m) / sum - (c === y[i] ? 1 : 0)) / n;
        for (let j = 0; j < d; j++) G[j * C + c] += r * z[j];
        G[d * C + c] += r;
      }
    }
    const xn = new Float64Array(count);
    gradMap = 0;
    for (let e = 0; e < count; e++) {
      const penal = e < d * C;
      const v2 = yk[e] - t * (G[e] + (penal ? o.l2 * yk[e] : 0));
      xn[e] = penal ? Math.sign(v2) * Math.max(Math.abs(v2) - t * l1, 0) : v2;
      gradMap = Math.max(gradMap, Math.abs(yk[e] - xn[e]) / t);
    }
    const tn = (1 + Math.sqrt(1 + 4 * tk * tk)) / 2;
    const beta = o.l2 > 0 ? (1 - Math.sqrt(q)) / (1 + Math.sqrt(q)) : (tk - 1) / tn;
    tk = tn;
    yk = xn.map((v2, e) => v2 + beta * (v2 - x[e]));
    x = xn;
    if (gradMap <= tol) break;
  }
  return { W: x.slice(0, d * C), b: x.slice(d * C), mean, scale, iterations: it, gradMap };
}

/** Solve the SPD system A x = b (A row-major s × s) by Cholesky. */
export function spdSolve(A: ArrayLike<number>, s: number, b: ArrayLike<number>): Float64Array {
  const L = new Float64Array(s * s);
  for (let j = 0; j < s; j++) {
    let v = A[j * s + j];
    for (let k = 0; k < j; k++) v -= L[j * s + k] ** 2;
    if (!(v > 0)) throw new Error('spdSolve: not positive definite');
    L[j * s + j] = Math.sqrt(v);
    for (let i = j + 1; i < s; i++) {
      let w = A[i * s + j];
      for (let k = 0; k < j; k++) w -= L[i * s + k] * L[j * s + k];
      L[i * s + j] = w / L[j * s + j];
    }
  }
  const x = Float64Array.from(b);
  for (let i = 0; i < s; i++) {
    for (let k = 0; k < i; k++) x[i] -= L[i * s + k] * x[k];
    x[i] /= L[i * s + i];
  }
  for (let i = s - 1; i >= 0; i--) {
    for (let k = i + 1; k < s; k++) x[i] -= L[k * s + i] * x[k];
    x[i] /= L[i * s + i];
  }
  return x;
}

/** Ridge on standardised X (scaling 'std' or 'none'), centred y: (ZᵀZ + λI)β = Zᵀy; coefficients in raw units. */
export function referenceRidge(X: Rows, y: ArrayLike<number>, lambda: number, scaling: 'std' | 'none' = 'std'): { coef: Float64Array; intercept: number } {
  const { Z, mean, scale } = standardized(X, scaling);
  const d = Z[0].length;
  const ybar = Array.from(y).reduce((a, v) => a + v, 0) / y.length;
  const A = new Float64Array(d * d);
  const b = new Float64Array(d);
  Z.forEach((z, i) => {
    for (let a = 0; a < d; a++) {
      b[a] += z[a] * (y[i] - ybar);
      for (let c = 0; c < d; c++) A[a * d + c] += z[a] * z[c];
    }
  });
  for (let a = 0; a < d; a++) A[a * d + a] += lambda;
  const beta = spdSolve(A, d, b);
  const coef = beta.map((v, j) => v * scale[j]);
  return { coef, intercept: ybar - coef.reduce((s, v, j) => s + v * mean[j], 0) };
}

/**
 * SVD by one-sided Jacobi on the columns of an m × n matrix given as columns: rotate column pairs until all are
 * orthogonal, then A V = U S. Sorted by descending S; zero columns dropped.
 */
export function jacobiSvdColumns(cols: ArrayLike<number>[], maxSweeps = 60, tol = 1e-12): { U: Float64Array[]; S: number[]; V: Float64Array[] } {
  const n = cols.length;
  const A = cols.map((c) => Float64Array.from(c));
  const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, v, i) => s + v * b[i], 0);
  const V = Array.from({ length: n }, (_, j) => Float64Array.from({ length: n }, (_, i) => (i === j ? 1 : 0)));
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const [ap, aq] = [A[p], A[q]];
        const alpha = dot(ap, ap);
        const beta = dot(aq, aq);
        const gamma = dot(ap, aq);
        if (gamma === 0 || Math.abs(gamma) <= tol * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (const M of [A, V]) {
          const [mp, mq] = [M[p], M[q]];
          for (let i = 0; i < mp.length; i++) {
            const [x, y] = [mp[i], mq[i]];
            mp[i] = c * x - s * y;
            mq[i] = s * x + c * y;
          }
        }
      }
    }
    if (!rotated) break;
  }
  const order = A.map((a, j) => ({ j, s: Math.sqrt(dot(a, a)) })).sort((x, y) => y.s - x.s);
  const top = order[0]?.s ?? 0;
  const kept = order.filter(({ s }) => s > 1e-14 * Math.max(top, 1e-300));
  return { U: kept.map(({ j, s }) => A[j].map((x) => x / s)), S: kept.map(({ s }) => s), V: kept.map(({ j }) => V[j]) };
}

/** Lloyd's k-means from given initial rows until no row changes cluster (ties to the lower index). */
export function referenceKmeans(X: Rows, init: number[], maxIter = 1000): { centroids: Float64Array[]; labels: number[]; inertia: number } {
  const d = X[0].length;
  let M = init.map((r) => Float64Array.from(X[r]));
  let labels = X.map(() => -1);
  let inertia = 0;
  for (let it = 0; it < maxIter; it++) {
    let changed = 0;
    inertia = 0;
    const next = X.map((x, i) => {
      let best = 0;
      let bestD = Infinity;
      M.forEach((m, c) => {
        let s = 0;
        for (let j = 0; j < d; j++) s += (x[j] - m[j]) ** 2;
        if (s < bestD) [best, bestD] = [c, s];
      });
      if (best !== labels[i]) changed++;
      inertia += bestD;
      return best;
    });
    labels = next;
    M = M.map((old, c) => {
      const rows = X.filter((_, i) => labels[i] === c);
      if (!rows.length) return old;
      return Float64Array.from({ length: d }, (_, j) => rows.reduce((s, r) => s + r[j], 0) / rows.length);
    });
    if (changed === 0) break;
  }
  return { centroids: M, labels, inertia };
}

/** OMP in float64 with unit-norm centred columns: greedy by |correlation|, least squares on the support. */
export function referenceOmp(X: Rows, y: ArrayLike<number>, k: number): { support: number[]; coef: Float64Array; intercept: number } {
  const { Z, mean, scale } = standardized(X, 'norm');
  const n = Z.length;
  const d = Z[0].length;
  const ybar = Array.from(y).reduce((a, v) => a + v, 0) / n;
  const yc = Float64Array.from(y, (v) => v - ybar);
  let r = Float64Array.from(yc);
  const support: number[] = [];
  let beta: Float64Array = new Float64Array(0);
  while (support.length < k) {
    let best = -1;
    let bestC = -1;
    for (let j = 0; j < d; j++) {
      if (support.includes(j)) continue;
      let c = 0;
      for (let i = 0; i < n; i++) c += Z[i][j] * r[i];
      if (Math.abs(c) > bestC) [best, bestC] = [j, Math.abs(c)];
    }
    support.push(best);
    const s = support.length;
    const A = new Float64Array(s * s);
    const b = new Float64Array(s);
    for (let a = 0; a < s; a++) {
      for (let i = 0; i < n; i++) b[a] += Z[i][support[a]] * yc[i];
      for (let c = 0; c < s; c++) for (let i = 0; i < n; i++) A[a * s + c] += Z[i][support[a]] * Z[i][support[c]];
    }
    beta = spdSolve(A, s, b);
    r = Float64Array.from(yc, (v, i) => v - support.reduce((acc, j, q) => acc + beta[q] * Z[i][j], 0));
  }
  const coef = new Float64Array(d);
  support.forEach((j, q) => (coef[j] = beta[q] * scale[j]));
  return { support, coef, intercept: ybar - coef.reduce((s, v, j) => s + v * mean[j], 0) };
}
