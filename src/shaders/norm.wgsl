// RMSNorm and LayerNorm, one workgroup per row (main) or one thread per row (rows: many rows, as in a batch,
// where SwiftShader's workgroup barriers cost more than the row's arithmetic). Writes the normalised row before the elementwise
// weight: that is the hook point (ln.hook_normalized); the weight is applied by the next matmul's prologue.

struct Params {
  rows: u32,
  D: u32,
  eps: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;

override LAYERNORM: bool = false;
const WG = 64u;
var<workgroup> sums: array<vec2<f32>, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let row = wg.x;
  let base = row * p.D;
  // Shifting by the row's first value keeps the variance accurate when the mean is large.
  let shift = select(0.0, X[base], LAYERNORM);
  var s = vec2<f32>(0.0);
  for (var i = lid.x; i < p.D; i += WG) {
    let x = X[base + i] - shift;
    s += vec2<f32>(x, x * x);
  }
  sums[lid.x] = s;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid.x < stride) { sums[lid.x] += sums[lid.x + stride]; }
    workgroupBarrier();
  }
  let n = f32(p.D);
  var mean = 0.0;
  var inv = 0.0;
  if (LAYERNORM) {
    let m = sums[0].x / n;
    mean = shift + m;
    inv = inverseSqrt(max(sums[0].y / n - m * m, 0.0) + p.eps);
  } else {
    inv = inverseSqrt(sums[0].y / n + p.eps);
  }
  for (var i = lid.x; i < p.D; i += WG) {
    Y[base + i] = (X[base + i] - mean) * inv;
  }
}

@compute @workgroup_size(WG)
fn rows(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x + gid.y * 65535u * WG;
  if (row >= p.rows) { return; }
  let base = row * p.D;
  let shift = select(0.0, X[base], LAYERNORM);
  var s = vec2<f32>(0.0);
  for (var i = 0u; i < p.D; i++) {
    let x = X[base + i] - shift;
    s += vec2<f32>(x, x * x);
  }
  let n = f32(p.D);
  var mean = 0.0;
  var inv = 0.0;
  if (LAYERNORM) {
    let m = s.x / n;
    mean = shift + m;
    inv = inverseSqrt(max(s.y / n - m * m, 0.0) + p.eps);
  } else {
    inv = inverseSqrt(s.y / n + p.eps);
  }
  for (var i = 0u; i < p.D; i++) {
    Y[base + i] = (X[base + i] - mean) * inv;
  }
}
