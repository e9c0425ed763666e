// The small dense problems left on the host once the GPU has reduced an activation matrix to them: an l × l
// symmetric eigenproblem (randomized SVD, l = k + oversampling) and an s × s Cholesky solve (OMP's support).
// Float64, O(l³) with l ≤ a few hundred: cheaper here than one GPU round trip.

/** Eigen-decomposition of the symmetric n × n matrix A (row-major) by cyclic Jacobi; values descending. */
export function symEig(A: ArrayLike<number>, n: number): { values: Float64Array; vectors: Float64Array[] } {
  const a = Float64Array.from(A);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let diag = 0;
    for (let i = 0; i < n; i++) {
      diag += a[i * n + i] ** 2;
      for (let j = i + 1; j < n; j++) off += a[i * n + j] ** 2;
    }
    if (off <= 1e-30 * diag || off === 0) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => a[y * n + y] - a[x * n + x]);
  return {
    values: Float64Array.from(order, (i) => a[i * n + i]),
    vectors: order.map((i) => Float64Array.from({ length: n }, (_, k) => v[k * n + i])),
  };
}

/** Lower Cholesky factor of the SPD s × s matrix A (row-major), or null when a pivot is not positive. */
export function cholesky(A: ArrayLike<number>, s: number): Float64Array | null {
  const L = new Float64Array(s * s);
  for (let j = 0; j < s; j++) {
    let d = A[j * s + j];
    for (let k = 0; k < j; k++) d -= L[j * s + k] ** 2;
    if (!(d > 0)) return null;
    L[j * s + j] = Math.sqrt(d);
    for (let i = j + 1; i < s; i++) {
      let v = A[i * s + j];
      for (let k = 0; k < j; k++) v -= L[i * s + k] * L[j * s + k];
      L[i * s + j] = v / L[j * s + j];
    }
  }
  return L;
}

/** Solve LLᵀx = b. */
export function cholSolve(L: Float64Array, s: number, b: ArrayLike<number>): Float64Array {
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

/** Standard normal draws from a uniform generator (Box–Muller). */
export function gaussians(rand: () => number, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand()));
}
