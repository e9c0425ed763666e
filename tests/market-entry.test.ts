// Multi-objective scaling laws and market entry (Jagadeesan, Jordan, Steinhardt): closed form vs GPU Monte Carlo,
// the single-objective exponent, the three regimes, and input validation.
import { describe, expect, it } from 'vitest';
import { marketEntryCommand } from '../src/cli/market-entry';
import { nodeGpu } from '../src/gpu/node';
import { analyse } from '../src/methods/market-entry/analysis';
import { kappaOf, lambdaOf, losses, noisePerUnit, spectralSums } from '../src/methods/market-entry/closed-form';
import { entryThreshold } from '../src/methods/market-entry/entry';
import { optimiseFirm } from '../src/methods/market-entry/firm';
import { lossesFromStats } from '../src/methods/market-entry/mc-request';
import { buildSpectrum, exactSpectrum, nu } from '../src/methods/market-entry/model';
import { runMonteCarlo } from '../src/methods/market-entry/montecarlo';
import { explicitSplitLosses, gram, runMonteCarloCpu, sampleDesign, seedStats } from '../src/methods/market-entry/montecarlo-cpu';
import { DEFAULTS, resolveMarket } from '../src/methods/market-entry/params';
import { logGrid } from '../src/methods/market-entry/entry';
import { fitSlope } from '../src/methods/market-entry/slopes';
import { gpuRunner, maxRelErr, validateGrid } from '../src/methods/market-entry/validation';

const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe('closed form', () => {
  it('sums over P = 2e5 directions by quadrature agree with the exact sums to 1e-6', () => {
    const P = 200_000;
    for (const [gamma, delta] of [[0.5, 1.0], [0.2, 0.4], [2, 5]]) {
      const spec = buildSpectrum({ gamma, delta, rho: 0, P });
      expect(spec.lam.length).toBeLessThan(1000);
      for (const kappa of [1e-7, 1e-4, 1e-1]) {
        const q = spectralSums(spec, kappa);
        let df1 = 0, df2 = 0, B1 = 0, B2 = 0, C3 = 0;
        for (let i = P; i >= 1; i--) {
          const l = i ** (-1 - gamma), m = i ** -delta, r = l / (l + kappa), s = kappa / (l + kappa);
          df1 += r; df2 += r * r; B1 += l * m * s; B2 += l * m * s * s; C3 += l * m * r * r;
        }
        for (const [a, b] of [[q.df1, df1], [q.df2, df2], [q.B1, B1], [q.B2, B2], [q.C3, C3]]) expect(rel(a, b)).toBeLessThan(1e-6);
      }
    }
  });

  it('κ ↔ λ round trip through the self-consistent equation λ = κ(1 − df₁(κ)/N)', () => {
    const spec = buildSpectrum({ gamma: 0.5, delta: 1, rho: 0.2, P: Infinity });
    // λ = κ − κ df₁/N cancels when λ ≪ κ, so the round trip is checked on κ's scale.
    for (const N of [10, 1e3, 1e6]) {
      for (const lambda of [1e-8, 1e-3, 1]) {
        const kappa = kappaOf(spec, lambda, N);
        expect(kappa).toBeGreaterThanOrEqual(lambda);
        expect(Math.abs(lambdaOf(spec, kappa, N) - lambda) / kappa).toBeLessThan(1e-12);
      }
    }
  });

  it('single objective recovers the ridge exponent ν = min(2(1+γ), δ+γ), including saturation', () => {
    for (const [gamma, delta] of [[0.5, 1.0], [0.5, 0.3], [1.0, 0.8], [0.2, 4.0]]) {
      const spec = buildSpectrum({ gamma, delta, rho: 0, P: Infinity });
      const xs = logGrid(2, 3.5, 7);
      const opts = xs.map((x) => optimiseFirm(spec, 10 ** x, Infinity));
      expect(opts.every((o) => o.alpha === 1)).toBe(true); // unconstrained ⇒ label everything with β₁
      const slope = -fitSlope(xs, opts.map((o) => Math.log10(o.L1)));
      // Tolerance 0.05: the rate is asymptotic; at N ~ 1e2–1e3 the finite-N corrections to a pure power law are ~2%.
      expect(Math.abs(slope - nu(gamma, delta))).toBeLessThan(0.05);
    }
  });
});

describe('Monte Carlo', () => {
  it('averaging over label splits: the four statistics reproduce brute force over all C(10,7) splits', () => {
    const P = 5, N = 10, n1 = 7, rho = 0.3, lambda = 0.05;
    const { lam, m } = exactSpectrum(P, 0.5, 1);
    const S = lam.reduce((acc, l, i) => acc + l * m[i], 0);
    const X = sampleDesign(3, 0, N, P, lam);
    let a1 = 0, a2 = 0, cnt = 0;
    for (let mask = 0; mask < 1 << N; mask++) {
      let pc = 0;
      for (let k = 0; k < N; k++) pc += (mask >> k) & 1;
      if (pc !== n1) continue;
      const r = explicitSplitLosses(X, N, P, lam, m, rho, lambda, (k) => ((mask >> k) & 1) === 1);
      a1 += r.L1; a2 += r.L2; cnt++;
    }
    const rb = lossesFromStats(seedStats(X, gram(X, N, P), N, P, lam, m, lambda), n1 / N, N, rho, S);
    expect(rel(rb.L1, a1 / cnt)).toBeLessThan(1e-10);
    expect(rel(rb.L2, a2 / cnt)).toBeLessThan(1e-10);
  });

  it('WGSL kernels (f32) match the float64 CPU reference on identical draws', async () => {
    const gpu = await nodeGpu();
    const req = { P: 40, N: 72, gamma: 0.5, delta: 1, rho: 0.3, seeds: 3, seed: 5, lambdas: [1e-3, 1e-1], alphas: [1, 0.8] };
    const g = (await runMonteCarlo(gpu, req)).estimates;
    const c = runMonteCarloCpu(req);
    for (let i = 0; i < c.length; i++) {
      expect(rel(g[i].L1, c[i].L1)).toBeLessThan(2e-3);
      expect(rel(g[i].L2, c[i].L2)).toBeLessThan(2e-3);
    }
  });

  // Stated tolerance: 5% relative. The deterministic equivalent is exact only as N, df → ∞; at these sizes its
  // finite-size corrections are O(1/N) (a few % at N = 128) and shrink with N (checked below). The standard errors
  // are required to be ≤ 1.5% so that a wrong derivation cannot hide in Monte Carlo noise.
  it('closed form agrees with the GPU Monte Carlo within 5% on several settings', async () => {
    const gpu = await nodeGpu();
    const settings = [
      { gamma: 0.5, delta: 1.0, rho: 0.5, P: 64, Ns: [128, 256], seeds: 32 },
      { gamma: 0.3, delta: 0.6, rho: -0.3, P: 64, Ns: [192], seeds: 32 },
      { gamma: 1.0, delta: 2.0, rho: 0.0, P: 128, Ns: [512], seeds: 16 },
    ];
    for (const s of settings) {
      const rows = await validateGrid({ ...s, lambdas: [1e-3, 1e-2, 1e-1], alphas: [1, 0.9, 0.7, 0.5], seed: 3 }, gpuRunner(gpu));
      console.log(`P=${s.P} N=${s.Ns} γ=${s.gamma} δ=${s.delta} ρ=${s.rho}: max rel err ${(maxRelErr(rows) * 100).toFixed(2)}%`);
      for (const r of rows) {
        expect(r.mcL1se / r.mcL1).toBeLessThan(0.015);
        expect(r.mcL2se / r.mcL2).toBeLessThan(0.015);
        expect(r.relErr).toBeLessThan(0.05);
      }
    }
  });

  it('the disagreement is a finite-size effect: it shrinks from N = 32 to N = 256 at P = 64', async () => {
    const gpu = await nodeGpu();
    const base = { gamma: 0.5, delta: 1.0, rho: 0.0, P: 64, lambdas: [1e-3, 1e-2], alphas: [1, 0.9, 0.6], seeds: 32, seed: 9 };
    const small = maxRelErr(await validateGrid({ ...base, Ns: [32] }, gpuRunner(gpu)));
    const large = maxRelErr(await validateGrid({ ...base, Ns: [256] }, gpuRunner(gpu)));
    console.log(`max rel err: N=32 ${(small * 100).toFixed(2)}%, N=256 ${(large * 100).toFixed(2)}%`);
    expect(large).toBeLessThan(small / 2);
  });

  it('the heteroscedastic (Isserlis) noise term is needed: without it the mixture noise is off by > 20%', async () => {
    const gpu = await nodeGpu();
    const P = 64, N = 128, lambda = 0.1;
    const est = (await runMonteCarlo(gpu, { gamma: 0.5, delta: 1, rho: 0, P, N, seeds: 32, seed: 4, lambdas: [lambda], alphas: [0.8] })).estimates[0];
    const spec = buildSpectrum({ gamma: 0.5, delta: 1, rho: 0, P });
    const sums = spectralSums(spec, kappaOf(spec, lambda, N));
    const Q = 1 / (1 - sums.df2 / N);
    // f₃'s equivalent is Q(S df₂ + 2C₃)/N; the homoscedastic σ² df₂/N model keeps only the first part.
    const withIsserlis = (Q * (spec.S * sums.df2 + 2 * sums.C3)) / N;
    const homoscedastic = (Q * spec.S * sums.df2) / N;
    expect(rel(est.stats.f3, withIsserlis)).toBeLessThan(0.05);
    expect(rel(est.stats.f3, homoscedastic)).toBeGreaterThan(0.2);
    // and the full noise term of closed-form.ts is the same quantity assembled
    expect(rel((noisePerUnit(spec, N, sums) * (N - 1) + spec.S - 2 * sums.B1 + Q * sums.B2) / N, withIsserlis)).toBeLessThan(1e-12);
  });
});

describe('regimes (Thms 1, 2, 4, 5)', () => {
  // Tolerances: each exponent is a least-squares slope over one decade placed from structural scales (constraint
  // onset N_b, plateau N_∞), not from the slopes. The theorems are asymptotic (Θ-statements), so the middle regime's
  // L₁ slope is diluted by the plateau G (L₁ = G + excess): at the default separation (N_∞/N_b ≈ 10^6.7) this costs
  // ≈ 0.01; the third window sits 2–3 decades past N_∞ where the slope has decayed to ≈ 0.02.
  const cases = [DEFAULTS, { ...DEFAULTS, gamma: 1.0, delta: 0.8, rho: 0.0, tauIRel: 1 - 1e-6 }];
  // The second case uses a looser threshold (slack 1e-6) so that the constraint binds later (N_b ≈ 10^3.8): with
  // ν = 1.8 the pure power law N^−ν has only converged to within 0.03 of ν above N ≈ 10^2.
  for (const p of cases) {
    it(`γ=${p.gamma} δ=${p.delta} ρ=${p.rho}: L₁ exponents ≈ ν → ν/(ν+1) → 0 and N_E* slopes ≈ 1 → 1/(ν+1) → 0`, () => {
      const a = analyse(p);
      const v = nu(p.gamma, p.delta);
      const [e1, e2, e3] = a.incumbent.exponents;
      console.log(`ν=${v}: loss exponents ${a.incumbent.exponents.map((x) => x.toFixed(3))}, entry slopes ${a.entry.slopes.map((x) => x.toFixed(3))}`);
      expect(Math.abs(e1 - v)).toBeLessThan(0.03);
      expect(Math.abs(e2 - v / (v + 1))).toBeLessThan(0.03);
      expect(Math.abs(e3)).toBeLessThan(0.05);
      expect(Math.abs(a.incumbent.excessExponents[1] - v / (v + 1))).toBeLessThan(0.02); // excess alone: no dilution
      const [s1, s2, s3] = a.entry.slopes;
      expect(Math.abs(s1 - 1)).toBeLessThan(0.02);
      expect(Math.abs(s2 - 1 / (v + 1))).toBeLessThan(0.03);
      expect(Math.abs(s3)).toBeLessThan(0.05);
      // Thm 1 (unconstrained entrant): c = 1/ν; Thm 5 (thresholds converge): c → (ν+1)/ν.
      expect(Math.abs(a.thm1.cSmallGap - 1 / v)).toBeLessThan(0.01);
      expect(Math.abs(a.thm5.cSmallGap - (v + 1) / v)).toBeLessThan(0.01);
    });
  }

  it('the entrant needs far less data than the incumbent once the incumbent is constrained', () => {
    const { spec, tauI, tauE } = resolveMarket(DEFAULTS);
    const small = optimiseFirm(spec, 100, tauI).L1; // before the constraint binds: no advantage
    expect(rel(entryThreshold(spec, small, tauE).NE, 100)).toBeLessThan(1e-3);
    const big = optimiseFirm(spec, 1e9, tauI).L1;
    expect(entryThreshold(spec, big, tauE).NE).toBeLessThan(1e9 / 1000);
  });
});

describe('CLI and inputs', () => {
  it('market-entry JSON: ν, three loss exponents, three entry slopes, MC error from the GPU', async () => {
    const gpu = await nodeGpu();
    const out = (await marketEntryCommand({ gamma: '0.5', delta: '1', rho: '0.5', json: true }, gpu)) as Record<string, unknown>;
    expect(out.nu).toBe(1.5);
    expect((out.loss_exponents as number[]).length).toBe(3);
    expect((out.entry_slopes as number[]).length).toBe(3);
    console.log('CLI MC max rel err', out.mc_vs_closed_form_max_rel_err);
    expect(out.mc_vs_closed_form_max_rel_err as number).toBeLessThan(0.05);
  });

  it('rejects bad input with clear errors', async () => {
    const bad = (over: object) => () => resolveMarket({ ...DEFAULTS, ...over });
    expect(bad({ gamma: 0 })).toThrow(/γ must be a finite number > 0/);
    expect(bad({ gamma: -1 })).toThrow(/gamma/);
    expect(bad({ delta: 0 })).toThrow(/δ must be/);
    expect(bad({ rho: 1.5 })).toThrow(/ρ is a correlation/);
    expect(bad({ rho: -1.01 })).toThrow(/\[−1, 1\]/);
    expect(bad({ tauERel: 0.5, tauIRel: 0.9 })).toThrow(/τ_E.*must exceed τ_I/);
    expect(bad({ P: 10.5 })).toThrow(/P must be an integer/);
    expect(bad({ NI: 0 })).toThrow(/N_I/);
    const spec = buildSpectrum({ gamma: 0.5, delta: 1, rho: 0, P: 64 });
    expect(() => losses(spec, 1, 0.5, 0.1)).toThrow(/N = 1 must exceed 1/);
    expect(() => optimiseFirm(spec, 100, -1)).toThrow(/threshold τ/);
    const mc = { P: 32, N: 16, gamma: 0.5, delta: 1, rho: 0, seeds: 4, lambdas: [0], alphas: [1] };
    expect(() => runMonteCarloCpu(mc)).toThrow(/λ = 0 needs N > P/);
    expect(() => runMonteCarloCpu({ ...mc, lambdas: [0.1], alphas: [1.2] })).toThrow(/α = 1.2 must lie in \[0, 1\]/);
    expect(() => runMonteCarloCpu({ ...mc, lambdas: [0.1], seeds: 1 })).toThrow(/seeds/);
    await expect(runMonteCarlo(await nodeGpu(), { ...mc, P: 30, lambdas: [0.1] })).rejects.toThrow(/divisible by 4/);
    await expect(marketEntryCommand({ gamma: 'abc', 'no-mc': true }, null)).rejects.toThrow(/not a number/);
  });
});
