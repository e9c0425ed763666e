// Backward of RMSNorm / LayerNorm and of the norm's affine, which the next matmul applies in its prologue
// (a = n * g + b). The chain is: dA (from the matmul) -> affine -> dN (the hook point's gradient) -> main -> dX.
//   affine:      dN += dA * g, and for trained norms dG += Σ_t dA * n (then dB += Σ_t dA, LayerNorm)
//   apply:       Out = n * g + b (the matmul's real input, materialised when its weight is trained)
//   main:        dX += inv * (dN - mean(dN) [LayerNorm] - y * mean(dN * y))

struct Params {
  rows: u32,
  D: u32,
  eps: f32,
  shift: u32, // the affine has a bias (LayerNorm)
  trainG: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;   // main: the norm's input; affine/apply: n
@group(0) @binding(2) var<storage, read> dIn: array<f32>; // main: dN; affine: dA
@group(0) @binding(3) var<storage, read> g: array<f32>;   // [D] weight, then [D] bias when shift
@group(0) @binding(4) var<storage, read_write> dOut: array<f32>; // main: dX; affine: dN; apply: the affine's output
@group(0) @binding(5) var<storage, read_write> dG: array<f32>;   // [D] (+ [D] bias)

override LAYERNORM: bool = false;

// One thread per row: D is small next to the matmuls around it, and no barriers are needed.
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = gid.x;
  if (t >= p.rows) { return; }
  let base = t * p.D;
  let n = f32(p.D);
  var mean = 0.0;
  if (LAYERNORM) {
    for (var i = 0u; i < p.D; i++) { mean += X[base + i]; }
    mean /= n;
  }
  var ss = 0.0;
  for (var i = 0u; i < p.D; i++) {
    let c = X[base + i] - mean;
    ss += c * c;
  }
  let inv = inverseSqrt(ss / n + p.eps);
  var mdy = 0.0;
  var mdyy = 0.0;
  for (var i = 0u; i < p.D; i++) {
    let dy = dIn[base + i];
    mdy += dy;
    mdyy += dy * (X[base + i] - mean) * inv;
  }
  mdy = select(0.0, mdy / n, LAYERNORM);
  mdyy /= n;
  for (var i = 0u; i < p.D; i++) {
    let y = (X[base + i] - mean) * inv;
    dOut[base + i] += inv * (dIn[base + i] - mdy - y * mdyy);
  }
}

// One thread per feature: sums over rows for the weight gradient.
@compute @workgroup_size(64)
fn affine(@builtin(global_invocation_id) gid: vec3<u32>) {
  let k = gid.x;
  if (k >= p.D) { return; }
  var sg = 0.0;
  var sb = 0.0;
  for (var t = 0u; t < p.rows; t++) {
    let i = t * p.D + k;
    dOut[i] += dIn[i] * g[k];
    sg += dIn[i] * X[i];
    sb += dIn[i];
  }
  if (p.trainG == 1u) {
    dG[k] += sg;
    if (p.shift == 1u) { dG[p.D + k] += sb; }
  }
}

@compute @workgroup_size(64)
fn apply(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * 65535u * 64u;
  if (i >= p.rows * p.D) { return; }
  let k = i % p.D;
  var a = X[i] * g[k];
  if (p.shift == 1u) { a += g[p.D + k]; }
  dOut[i] = a;
}
