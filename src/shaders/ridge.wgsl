// Batched ridge regression for the market-entry Monte Carlo (src/methods/market-entry/montecarlo.ts).
// One batch = S independent seeds sharing (N, P, Nλ). Per seed the label split and the targets are averaged exactly
// (see mc-request.ts), so the kernels only need the design X and W = (XᵀX + NλI)⁻¹:
//   sample (X in Σ's eigenbasis) → row_weights (w_k = ⟨m, x_k²⟩) → gram (G = XᵀX and H = Xᵀdiag(w)X)
//   → assemble (A = G + NλI) → cholesky (A = LLᵀ, one workgroup per seed)
//   → inverse_score (column b of W, one thread per column; f₁, f₂, f₄ parts) → hetero (f₃ = tr(ΣWHW) parts).
// Probe fitting's ridge / least squares (src/engine/fit/ridge.ts) reuses `assemble` and `cholesky` with S = 1,
// G = ZᵀZ of its standardised activations, and adds `solve` (W's rows hold Zᵀy_c, solved in place).
// All f32. Cholesky needs no pivoting (A is SPD) and its rounding error is invariant to diagonal scaling, so the
// power-law spread of Σ's eigenvalues does not hurt it; what matters is the Marchenko–Pastur spread at N/P.

struct Params {
  S: u32,          // seeds in this batch
  N: u32,          // samples per seed
  P: u32,          // dimension
  seed: u32,       // base seed of the run
  seedOffset: u32, // index of this batch's first seed within the run
  outBase: u32,    // where this configuration's partial sums start in `score`
  cols: u32,       // `solve`: right-hand sides
  pad1: u32,
  nlambda: f32,    // N·λ
  pad2: f32,
  pad3: f32,
  pad4: f32,
};

@group(0) @binding(0) var<uniform> prm: Params;
@group(0) @binding(1) var<storage, read> spec: array<f32>;        // λ_0..λ_{P−1}, then m_0..m_{P−1}
@group(0) @binding(2) var<storage, read_write> X: array<f32>;     // [S][N][P]
@group(0) @binding(3) var<storage, read_write> G: array<f32>;     // [2][S][P][P]  (G = XᵀX, then H = Xᵀdiag(w)X)
@group(0) @binding(4) var<storage, read_write> A: array<f32>;     // [S][P][P]  (A, then L in its lower triangle)
@group(0) @binding(5) var<storage, read_write> W: array<f32>;     // [S][P][P]  (row b = column b of W, W symmetric)
@group(0) @binding(6) var<storage, read_write> score: array<f32>; // per config: [S][P][3] (f₁, f₂, f₄ parts), then [S][P] (f₃ parts)
@group(0) @binding(7) var<storage, read_write> rowW: array<f32>;  // [S][N] row weights w_k

// Counter-based PRNG (PCG hash): every entry of X is a pure function of (seed, global seed index, row, column),
// so results do not depend on batching, and the CPU reference (prng.ts) reproduces the same draws.
fn pcg(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

fn gaussian(seed: u32, s: u32, row: u32, col: u32) -> f32 {
  let key = pcg(col ^ pcg(row ^ pcg(s ^ pcg(seed))));
  let h1 = pcg(key ^ 0x68bc21ebu);
  let h2 = pcg(key ^ 0x02e5be93u);
  let u1 = (f32(h1 >> 8u) + 1.0) / 16777216.0; // (0, 1]
  let u2 = f32(h2 >> 8u) / 16777216.0;         // [0, 1)
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2); // Box–Muller
}

@compute @workgroup_size(256)
fn sample(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * 256u;
  let P = prm.P;
  if (idx >= prm.S * prm.N * P) { return; }
  let col = idx % P;
  let row = (idx / P) % prm.N;
  let s = idx / (P * prm.N);
  X[idx] = sqrt(spec[col]) * gaussian(prm.seed, prm.seedOffset + s, row, col);
}

// Row weights w_k = ⟨m, x_k²⟩ = E_Δ⟨Δ, x_k⟩² / d: how strongly row k's mismatched label varies (heteroscedasticity).
@compute @workgroup_size(64)
fn row_weights(@builtin(global_invocation_id) gid: vec3<u32>) {
  let idx = gid.x;
  let P = prm.P;
  if (idx >= prm.S * prm.N) { return; }
  var w = 0.0;
  for (var i = 0u; i < P; i++) {
    let x = X[idx * P + i];
    w += spec[P + i] * x * x;
  }
  rowW[idx] = w;
}

// G = XᵀX and H = Xᵀ diag(w) X together, one thread per 4×4 block (register blocking: 8 loads per 32 FMAs; plain
// global loads, since workgroup-memory tiling with barriers is slow on CPU emulations such as SwiftShader).
// Only blocks on or above the diagonal are computed; each is written to both triangles. Requires P % 4 == 0.
@compute @workgroup_size(64)
fn gram(@builtin(global_invocation_id) gid: vec3<u32>) {
  let P = prm.P;
  let N = prm.N;
  let nb = P / 4u;
  let pairs = nb * (nb + 1u) / 2u;
  let idx = gid.x;
  if (idx >= prm.S * pairs) { return; }
  let s = idx / pairs;
  var r = idx % pairs;
  var ib = 0u; // block row: walk the upper-triangular rows of lengths nb, nb−1, …
  while (r >= nb - ib) { r -= nb - ib; ib++; }
  let jb = ib + r;
  let a0 = ib * 4u;
  let b0 = jb * 4u;
  var g0 = vec4<f32>(); var g1 = vec4<f32>(); var g2 = vec4<f32>(); var g3 = vec4<f32>();
  var h0 = vec4<f32>(); var h1 = vec4<f32>(); var h2 = vec4<f32>(); var h3 = vec4<f32>();
  for (var k = 0u; k < N; k++) {
    let o = (s * N + k) * P;
    let xa = vec4<f32>(X[o + a0], X[o + a0 + 1u], X[o + a0 + 2u], X[o + a0 + 3u]);
    let xb = vec4<f32>(X[o + b0], X[o + b0 + 1u], X[o + b0 + 2u], X[o + b0 + 3u]);
    let wa = xa * rowW[s * N + k];
    g0 += xa.x * xb; g1 += xa.y * xb; g2 += xa.z * xb; g3 += xa.w * xb;
    h0 += wa.x * xb; h1 += wa.y * xb; h2 += wa.z * xb; h3 += wa.w * xb;
  }
  var gs = array<vec4<f32>, 4>(g0, g1, g2, g3);
  var hs = array<vec4<f32>, 4>(h0, h1, h2, h3);
  let G0 = s * P * P;
  let H0 = prm.S * P * P + G0;
  for (var i = 0u; i < 4u; i++) {
    for (var j = 0u; j < 4u; j++) {
      let a = a0 + i;
      let b = b0 + j;
      G[G0 + a * P + b] = gs[i][j];
      G[G0 + b * P + a] = gs[i][j];
      G[H0 + a * P + b] = hs[i][j];
      G[H0 + b * P + a] = hs[i][j];
    }
  }
}

@compute @workgroup_size(256)
fn assemble(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * 256u;
  let P = prm.P;
  if (idx >= prm.S * P * P) { return; }
  var v = G[idx];
  if ((idx / P) % P == idx % P) { v += prm.nlambda; }
  A[idx] = v;
}

// Right-looking Cholesky, one workgroup per seed; the factor overwrites A's lower triangle.
@compute @workgroup_size(256)
fn cholesky(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let P = prm.P;
  let base = wid.x * P * P;
  for (var j = 0u; j < P; j++) {
    if (t == 0u) { A[base + j * P + j] = sqrt(max(A[base + j * P + j], 1e-30)); }
    storageBarrier();
    let d = A[base + j * P + j];
    for (var i = j + 1u + t; i < P; i += 256u) { A[base + i * P + j] = A[base + i * P + j] / d; }
    storageBarrier();
    let m = P - j - 1u;
    for (var q = t; q < m * m; q += 256u) {
      let i = j + 1u + q / m;
      let k = j + 1u + q % m;
      if (k <= i) { A[base + i * P + k] -= A[base + i * P + j] * A[base + k * P + j]; }
    }
    storageBarrier();
  }
}

// One thread per (seed s, column b): solve LLᵀ w = e_b into W's row b, then add column b's share of
// f₁ = Σ λ_a m_b (NλW_ab)², f₂ = λ_b m_b NλW_bb and f₄ = Σ λ_a m_b (δ_ab − NλW_ab)².
@compute @workgroup_size(64)
fn inverse_score(@builtin(global_invocation_id) gid: vec3<u32>) {
  let P = prm.P;
  let idx = gid.x;
  if (idx >= prm.S * P) { return; }
  let s = idx / P;
  let b = idx % P;
  let L0 = s * P * P;
  let w0 = (s * P + b) * P;
  for (var i = 0u; i < P; i++) {
    var acc = 0.0;
    if (i == b) { acc = 1.0; }
    for (var k = b; k < i; k++) { acc -= A[L0 + i * P + k] * W[w0 + k]; } // entries above b are zero
    if (i < b) { acc = 0.0; }
    W[w0 + i] = acc / A[L0 + i * P + i];
  }
  for (var ii = 0u; ii < P; ii++) {
    let i = P - 1u - ii;
    var acc = W[w0 + i];
    for (var k = i + 1u; k < P; k++) { acc -= A[L0 + k * P + i] * W[w0 + k]; }
    W[w0 + i] = acc / A[L0 + i * P + i];
  }
  var f1 = 0.0;
  var f4 = 0.0;
  for (var a = 0u; a < P; a++) {
    let sh = prm.nlambda * W[w0 + a];
    var id = 0.0;
    if (a == b) { id = 1.0; }
    f1 += spec[a] * sh * sh;
    f4 += spec[a] * (id - sh) * (id - sh);
  }
  let mb = spec[P + b];
  let o = prm.outBase + idx * 3u;
  score[o] = mb * f1;
  score[o + 1u] = spec[b] * mb * prm.nlambda * W[w0 + b];
  score[o + 2u] = mb * f4;
}

// One thread per (seed s, index a): f₃'s share λ_a (W H W)_aa, where H = Xᵀ diag(w) X, so that
// f₃ = Σ_k w_k x_kᵀWΣWx_k = tr(Σ W H W) costs P³ per seed instead of N·P².
@compute @workgroup_size(64)
fn hetero(@builtin(global_invocation_id) gid: vec3<u32>) {
  let P = prm.P;
  let idx = gid.x;
  if (idx >= prm.S * P) { return; }
  let s = idx / P;
  let a = idx % P;
  let W0 = s * P * P;
  let H0 = prm.S * P * P + W0;
  var acc = 0.0;
  for (var b = 0u; b < P; b++) {
    var t = 0.0; // (W H)_ab
    for (var c = 0u; c < P; c++) { t += W[W0 + a * P + c] * G[H0 + c * P + b]; }
    acc += t * W[W0 + b * P + a];
  }
  score[prm.outBase + prm.S * P * 3u + idx] = spec[a] * acc;
}

// One thread per right-hand side c (S = 1): solve LLᵀ w = b in place, b = W's row c on entry.
@compute @workgroup_size(64)
fn solve(@builtin(global_invocation_id) gid: vec3<u32>) {
  let P = prm.P;
  let c = gid.x;
  if (c >= prm.cols) { return; }
  let w0 = c * P;
  for (var i = 0u; i < P; i++) {
    var acc = W[w0 + i];
    for (var k = 0u; k < i; k++) { acc -= A[i * P + k] * W[w0 + k]; }
    W[w0 + i] = acc / A[i * P + i];
  }
  for (var ii = 0u; ii < P; ii++) {
    let i = P - 1u - ii;
    var acc = W[w0 + i];
    for (var k = i + 1u; k < P; k++) { acc -= A[k * P + i] * W[w0 + k]; }
    W[w0 + i] = acc / A[i * P + i];
  }
}
