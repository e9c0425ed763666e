// A LoRA module's backward in two dispatches instead of four small matmuls (on software adapters a
// dispatch costs more than these products). Forward: H = x·Aᵀ [M, r], C[:, off..off+w] += s·H·Bᵀ.
// branch: dH = s·dC_m·B (written) and, when B is trained, dB += s·dC_mᵀ·H.
// input:  dX (+)= dH·A and, when A is trained, dA += dHᵀ·x, where x may be the norm's output n with the
//         prologue affine still to apply (x = n·g (+b)), saving the dispatch that would materialise it.
// One thread per output element; the first n1 threads compute the first product, the rest the second.

struct Params {
  M: u32,      // tokens
  K: u32,      // module input width
  w: u32,      // module output width
  r: u32,      // rank
  N: u32,      // row stride of dC (the fused linear's output width)
  off: u32,    // the module's first column in dC
  second: u32, // 1: compute the second product (its tensor is trained)
  accX: u32,   // input: 1 accumulates into dX, 0 overwrites it
  scale: f32,
  affine: u32, // input: 0 x as given; 1 x = S·g; 2 x = S·g + b (g, b: the affine buffer)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> G: array<f32>;        // branch: dC; input: dH
@group(0) @binding(2) var<storage, read> W: array<f32>;        // branch: B [w, r]; input: A [r, K]
@group(0) @binding(3) var<storage, read> S: array<f32>;        // branch: H [M, r]; input: x [M, K]
@group(0) @binding(4) var<storage, read_write> O1: array<f32>; // branch: dH [M, r]; input: dX [M, K]
@group(0) @binding(5) var<storage, read_write> O2: array<f32>; // branch: dB [w, r]; input: dA [r, K]
@group(0) @binding(6) var<storage, read> affine: array<f32>;    // input: g [K] then b [K]

@compute @workgroup_size(64)
fn branch(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * 65535u * 64u;
  let n1 = p.M * p.r;
  if (i < n1) {
    let m = i / p.r;
    let j = i % p.r;
    var s = 0.0;
    for (var o = 0u; o < p.w; o++) { s += G[m * p.N + p.off + o] * W[o * p.r + j]; }
    O1[i] = p.scale * s;
    return;
  }
  let i2 = i - n1;
  if (p.second == 0u || i2 >= p.w * p.r) { return; }
  let o = i2 / p.r;
  let j = i2 % p.r;
  var s = 0.0;
  for (var m = 0u; m < p.M; m++) { s += G[m * p.N + p.off + o] * S[m * p.r + j]; }
  O2[i2] = O2[i2] + p.scale * s;
}

@compute @workgroup_size(64)
fn input(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * 65535u * 64u;
  let n1 = p.M * p.K;
  if (i < n1) {
    let m = i / p.K;
    let k = i % p.K;
    var s = 0.0;
    for (var j = 0u; j < p.r; j++) { s += G[m * p.r + j] * W[j * p.K + k]; }
    O1[i] = select(0.0, O1[i], p.accX == 1u) + s;
    return;
  }
  let i2 = i - n1;
  if (p.second == 0u || i2 >= p.r * p.K) { return; }
  let j = i2 / p.K;
  let k = i2 % p.K;
  var s = 0.0;
  for (var m = 0u; m < p.M; m++) { s += G[m * p.r + j] * S[m * p.K + k]; }
  if (p.affine > 0u) {
    // Σ_m dH[m, j]·(n[m, k]·g[k] + b[k]) = g[k]·Σ_m dH[m, j]·n[m, k] + b[k]·Σ_m dH[m, j]
    var t = 0.0;
    if (p.affine == 2u) {
      for (var m = 0u; m < p.M; m++) { t += G[m * p.r + j]; }
      t *= affine[p.K + k];
    }
    s = s * affine[k] + t;
  }
  O2[i2] = O2[i2] + s;
}
