// The experiment's default settings, in a module of their own with no runtime imports: the page
// (src/ui/pages/market-entry/Page.svelte) takes them from here without pulling the method's code into the page.

import type { MarketParams } from './params';

// Defaults chosen so that all three regimes are visible within N ≤ 1e14: ν = 1.5 keeps ν, ν/(ν+1) and 1/(ν+1) apart,
// and a slack 1 − τ_I/L₂(β₁) = 1e-4 separates the constraint's onset (N ≈ 1e3.7) from the plateau (N ≈ 1e10).
export const DEFAULTS: MarketParams = {
  gamma: 0.5,
  delta: 1.0,
  rho: 0.5,
  P: Infinity,
  tauIRel: 1 - 1e-4,
  tauERel: 1 - 1e-9,
  NI: 1e7,
};
