// The paper's data model (§2): x ~ N(0, Σ) with Σ's eigenvalues λ_i = i^(−1−γ); targets β₁ (performance) and β₂
// (safety) with E⟨β_j, v_i⟩² = i^(−δ) and E⟨β₁, v_i⟩⟨β₂, v_i⟩ = ρ i^(−δ), independent across eigendirections.
// Everything below works in the eigenbasis, where Σ is diagonal.
//
// The closed form needs sums Σ_i f(λ_i, m_i) over up to P = ∞ directions. Indices 1..HEAD are summed exactly; the
// rest is the midpoint-rule integral ∫_{HEAD+½}^{P+½} f(λ(x), m(x)) dx (Euler–Maclaurin error ~ 1/HEAD², i.e. < 1e-6
// of the tail), done by Gauss–Legendre panels in log x so that its cost does not grow with P. Beyond 1e40 (only for
// P = ∞) each sum's leading-order remainder is added analytically (see closed-form.ts).

export interface ModelParams {
  /** capacity exponent: λ_i = i^(−1−γ); γ > 0 */
  gamma: number;
  /** source exponent: E⟨β_j, v_i⟩² = i^(−δ); δ > 0 */
  delta: number;
  /** per-direction correlation of the two targets, in [−1, 1] */
  rho: number;
  /** dimension: a positive integer or Infinity */
  P: number;
}

export interface Spectrum {
  params: ModelParams;
  /** atoms: eigenvalue, prior second moment, and weight (1 for exact indices, quadrature weight for the tail) */
  lam: Float64Array;
  m: Float64Array;
  w: Float64Array;
  /** λ·m per atom (precomputed for the bias sums) */
  lm: Float64Array;
  /** start of the analytic remainder (Infinity when there is none) */
  xEnd: number;
  /** S = Σ λ_i m_i = E‖β_j‖²_Σ, the loss of the zero predictor */
  S: number;
  /** tr Σ */
  trace: number;
}

export const HEAD = 256;
export const X_FAR = 1e40;
const PANEL = 2.0; // width of one Gauss–Legendre panel in ln x
const GL_ORDER = 8;

export function validateModel(p: ModelParams): void {
  const bad = (name: string, v: number, why: string) => {
    throw new RangeError(`market-entry: ${name} = ${v} is invalid: ${why}`);
  };
  if (!Number.isFinite(p.gamma) || p.gamma <= 0) bad('gamma', p.gamma, 'γ must be a finite number > 0 (λ_i = i^(−1−γ) must be summable)');
  if (p.gamma > 6) bad('gamma', p.gamma, 'γ must be ≤ 6 (larger values underflow double precision)');
  if (!Number.isFinite(p.delta) || p.delta <= 0) bad('delta', p.delta, 'δ must be a finite number > 0');
  if (p.delta > 12) bad('delta', p.delta, 'δ must be ≤ 12 (larger values underflow double precision)');
  if (!Number.isFinite(p.rho) || p.rho < -1 || p.rho > 1) bad('rho', p.rho, 'ρ is a correlation and must lie in [−1, 1]');
  if (p.rho === 1) bad('rho', p.rho, 'ρ = 1 makes the two objectives identical; use ρ < 1');
  if (!(p.P === Infinity || (Number.isInteger(p.P) && p.P >= 2))) bad('P', p.P, 'P must be an integer ≥ 2 or Infinity');
}

/** Single-objective ridge scaling exponent ν = min(2(1+γ), δ+γ) (ridge saturates at 2(1+γ)). */
export function nu(gamma: number, delta: number): number {
  return Math.min(2 * (1 + gamma), delta + gamma);
}

/** ν' = min(1+γ, δ+γ): the exponent of the first-order (cross) term, which governs the final excess-loss rate (Thm 3). */
export function nuPrime(gamma: number, delta: number): number {
  return Math.min(1 + gamma, delta + gamma);
}

export const eigenvalue = (i: number, gamma: number) => Math.pow(i, -1 - gamma);
export const priorMoment = (i: number, delta: number) => Math.pow(i, -delta);

/** Gauss–Legendre nodes/weights on [−1, 1] by Newton's method on P_n. */
export function gaussLegendre(n: number): { x: number[]; w: number[] } {
  const x: number[] = [];
  const w: number[] = [];
  for (let k = 1; k <= n; k++) {
    let t = Math.cos((Math.PI * (k - 0.25)) / (n + 0.5));
    let dp = 0;
    for (let it = 0; it < 100; it++) {
      let p0 = 1;
      let p1 = t;
      for (let j = 2; j <= n; j++) [p0, p1] = [p1, ((2 * j - 1) * t * p1 - (j - 1) * p0) / j];
      dp = (n * (t * p1 - p0)) / (t * t - 1);
      const dt = p1 / dp;
      t -= dt;
      if (Math.abs(dt) < 1e-16) break;
    }
    x.push(t);
    w.push(2 / ((1 - t * t) * dp * dp));
  }
  return { x, w };
}

const GL = gaussLegendre(GL_ORDER);

export function buildSpectrum(params: ModelParams): Spectrum {
  validateModel(params);
  const { gamma, delta, P } = params;
  const head = Math.min(P, HEAD);
  const lam: number[] = [];
  const m: number[] = [];
  const w: number[] = [];
  for (let i = 1; i <= head; i++) {
    lam.push(eigenvalue(i, gamma));
    m.push(priorMoment(i, delta));
    w.push(1);
  }
  let xEnd = Infinity;
  if (P > head) {
    // Tail: ∫_{a}^{b} f(x) dx with x = e^u, dx = e^u du.
    const a = Math.log(head + 0.5);
    const bx = P === Infinity ? X_FAR : Math.min(P + 0.5, X_FAR);
    if (P === Infinity || P + 0.5 > X_FAR) xEnd = X_FAR;
    const b = Math.log(bx);
    const panels = Math.max(1, Math.ceil((b - a) / PANEL));
    const h = (b - a) / panels;
    for (let k = 0; k < panels; k++) {
      const mid = a + (k + 0.5) * h;
      for (let q = 0; q < GL_ORDER; q++) {
        const u = mid + 0.5 * h * GL.x[q];
        const xq = Math.exp(u);
        lam.push(eigenvalue(xq, gamma));
        m.push(priorMoment(xq, delta));
        w.push(0.5 * h * GL.w[q] * xq);
      }
    }
  }
  const L = new Float64Array(lam);
  const M = new Float64Array(m);
  const W = new Float64Array(w);
  const LM = new Float64Array(L.length);
  let S = 0;
  let trace = 0;
  for (let q = 0; q < L.length; q++) {
    LM[q] = L[q] * M[q];
    S += W[q] * LM[q];
    trace += W[q] * L[q];
  }
  if (xEnd < Infinity) {
    S += Math.pow(xEnd, -gamma - delta) / (gamma + delta);
    trace += Math.pow(xEnd, -gamma) / gamma;
  }
  return { params, lam: L, m: M, w: W, lm: LM, xEnd, S, trace };
}

/** Exact eigen-data for a finite P (used by the Monte Carlo, which samples in the eigenbasis). */
export function exactSpectrum(P: number, gamma: number, delta: number): { lam: Float64Array; m: Float64Array } {
  const lam = new Float64Array(P);
  const m = new Float64Array(P);
  for (let i = 0; i < P; i++) {
    lam[i] = eigenvalue(i + 1, gamma);
    m[i] = priorMoment(i + 1, delta);
  }
  return { lam, m };
}
