// k-means and class centroids on the GPU (shaders/kmeans.wgsl) over raw activations (no standardisation: the
// distances are the model's own geometry). k-means++ seeding (D² sampling from the seeded generator, each row's
// D² kept on the GPU), then Lloyd's iterations until no row changes cluster. A cluster that empties is re-seeded
// with the row farthest from its centroid. Hitting maxIter is an error unless allowUnconverged.
import { Pass, uniforms, type Runtime } from '../../gpu/runtime';
import { seededRandom } from '../../common/rng';
import { checkFinite, checkLabels, grid, pipe, toGpu, type GpuMatrix, type MatrixInput } from './matrix';

export interface KmeansOptions {
  seed?: number;
  maxIter?: number;
  allowUnconverged?: boolean;
  /** Start from these rows as centres instead of k-means++ (k of them). */
  init?: number[];
}

export interface KmeansFit {
  /** [k, d] row-major. */
  centroids: Float32Array;
  labels: Uint32Array;
  /** Rows per cluster. */
  sizes: number[];
  /** Σ squared distance of each row to its centroid. */
  inertia: number;
  /** Rows chosen as the initial centres. */
  init: number[];
  iterations: number;
  converged: boolean;
}

export async function kmeans(rt: Runtime, X: MatrixInput, k: number, o: KmeansOptions = {}): Promise<KmeansFit> {
  const x = toGpu(rt, X, 'k-means input');
  const { rows: n, cols: d } = x;
  const taken: GPUBuffer[] = [];
  const take = (bytes: number) => {
    const b = rt.take(bytes);
    taken.push(b);
    return b;
  };
  try {
    if (!Number.isInteger(k) || k < 1) throw new Error(`k-means: k = ${k} must be a positive integer`);
    if (k > n) throw new Error(`k-means: k = ${k} exceeds the number of rows (${n})`);
    await checkFinite(rt, x, 'k-means input');
    const maxIter = o.maxIter ?? 300;
    const M = take(k * d * 4);
    const label = take(n * 4);
    const dist = take(n * 4);
    const counts = take((k + 1) * 4);
    const binds = [x.buf, M, label, dist, counts];
    const u = (centre = 0) => uniforms(n, d, k, centre);
    const init = o.init ?? (await seed(rt, x, k, binds, o.seed ?? 0));
    if (init.length !== k || init.some((r) => !Number.isInteger(r) || r < 0 || r >= n)) throw new Error(`k-means: init must be ${k} row indices < ${n}`);
    {
      const p = new Pass(rt);
      init.forEach((r, c) => p.copy(x.buf, r * d * 4, M, c * d * 4, d * 4));
      await p.submit();
    }
    rt.write(label, new Uint32Array(n).fill(0xffffffff));
    let iterations = 0;
    let converged = false;
    let centroids: Float32Array = new Float32Array(k * d);
    let sizes: number[] = [];
    let dists: Float32Array = new Float32Array(n);
    while (iterations < maxIter) {
      rt.write(counts, new Uint32Array(k + 1));
      const p = new Pass(rt);
      p.dispatch(pipe(p, 'kmeans', 'assign'), u(), binds, grid(n));
      p.dispatch(pipe(p, 'kmeans', 'means'), u(), binds, grid(k * d));
      const cRead = p.read(counts, (k + 1) * 4);
      const mRead = p.read(M, k * d * 4);
      const dRead = p.read(dist, n * 4);
      await p.submit();
      const c = new Uint32Array((await cRead).buffer);
      centroids = await mRead;
      dists = await dRead;
      sizes = Array.from(c.subarray(0, k));
      iterations++;
      const changed = c[k];
      if (!Number.isFinite(dists.reduce((a, b) => a + b, 0))) throw new Error('k-means input: NaN or infinite values (distances are not finite)');
      const empty = sizes.findIndex((s) => s === 0);
      if (empty >= 0) {
        // Re-seed the empty cluster at the row farthest from its centroid; the next assign moves it there.
        let far = 0;
        for (let i = 1; i < n; i++) if (dists[i] > dists[far]) far = i;
        const q = new Pass(rt);
        q.copy(x.buf, far * d * 4, M, empty * d * 4, d * 4);
        await q.submit();
        dists[far] = 0;
        continue;
      }
      if (changed === 0) {
        converged = true;
        break;
      }
    }
    if (!converged && !o.allowUnconverged) throw new Error(`k-means did not converge in ${maxIter} iterations (rows still changing cluster); raise maxIter or pass allowUnconverged`);
    const lRead = new Pass(rt);
    const lr = lRead.read(label, n * 4);
    await lRead.submit();
    const labels = new Uint32Array((await lr).buffer);
    return { centroids, labels, sizes, inertia: dists.reduce((a, b) => a + b, 0), init, iterations, converged };
  } finally {
    for (const b of taken) rt.release(b);
    if (x.owned) x.buf.destroy();
  }
}

/** k-means++: the first centre uniformly, each next one with probability ∝ D² to the nearest chosen centre. */
async function seed(rt: Runtime, x: GpuMatrix, k: number, binds: GPUBuffer[], s: number): Promise<number[]> {
  const { rows: n, cols: d } = x;
  const rand = seededRandom(s);
  const dist = binds[3];
  rt.write(dist, new Float32Array(n).fill(3e38));
  const chosen = [Math.min(n - 1, Math.floor(rand() * n))];
  while (chosen.length < k) {
    const p = new Pass(rt);
    p.dispatch(pipe(p, 'kmeans', 'nearest'), uniforms(n, d, k, chosen[chosen.length - 1]), binds, grid(n));
    const r = p.read(dist, n * 4);
    await p.submit();
    const d2 = await r;
    let total = 0;
    for (let i = 0; i < n; i++) total += d2[i];
    if (!Number.isFinite(total)) throw new Error('k-means input: NaN or infinite values (distances are not finite)');
    if (!(total > 0)) throw new Error(`k-means: only ${chosen.length} distinct rows, fewer than k = ${k}`);
    let target = rand() * total;
    let pick = n - 1;
    for (let i = 0; i < n; i++) {
      target -= d2[i];
      if (target < 0 && d2[i] > 0) {
        pick = i;
        break;
      }
    }
    while (d2[pick] === 0) pick--; // rounding at the end of the scan
    chosen.push(pick);
  }
  return chosen;
}

export interface ClassMeans {
  /** [C, d] row-major: the mean row of each class. */
  means: Float32Array;
  /** The mean of all rows. */
  mean: Float32Array;
  sizes: number[];
}

/** The mean activation of each class (labels 0..C−1, each present): a centroid probe's fit. */
export async function classMeans(rt: Runtime, X: MatrixInput, labels: ArrayLike<number>, classes?: number): Promise<ClassMeans> {
  const x = toGpu(rt, X, 'class means input');
  const { rows: n, cols: d } = x;
  const taken: GPUBuffer[] = [];
  try {
    const C = checkLabels(labels, n, classes, 'class means');
    await checkFinite(rt, x, 'class means input');
    const M = rt.take(C * d * 4);
    const lab = rt.take(n * 4);
    const dist = rt.take(16);
    const counts = rt.take((C + 1) * 4);
    taken.push(M, lab, dist, counts);
    rt.write(lab, Uint32Array.from(labels));
    const p = new Pass(rt);
    p.dispatch(pipe(p, 'kmeans', 'means'), uniforms(n, d, C, 0), [x.buf, M, lab, dist, counts], grid(C * d));
    const mr = p.read(M, C * d * 4);
    const cr = p.read(counts, C * 4);
    await p.submit();
    const means = await mr;
    const sizes = Array.from(new Uint32Array((await cr).buffer));
    const mean = new Float32Array(d);
    for (let c = 0; c < C; c++) for (let j = 0; j < d; j++) mean[j] += (means[c * d + j] * sizes[c]) / n;
    return { means, mean, sizes };
  } finally {
    for (const b of taken) rt.release(b);
    if (x.owned) x.buf.destroy();
  }
}
