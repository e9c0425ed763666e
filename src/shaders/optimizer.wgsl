// Parameter updates over every trained tensor at once (the trainer keeps them, their gradients and
// moments in flat buffers: a dispatch costs far more than the copies in and out).
// sumsq: workgroup w writes the squared norm of its chunk of the gradient to norms[w]; clip turns the
// partial sums into one factor (stored after them); adamw / sgd scale by it and update in place.

struct Params {
  n: u32,       // elements in all
  slots: u32,   // sumsq workgroups (partial sums in `norms`)
  step: u32,    // 1-based, for Adam's bias correction
  lr: f32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  weightDecay: f32,
  maxNorm: f32, // 0: no clipping
  gradScale: f32, // 1 / accumulation steps
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> m1: array<f32>;
@group(0) @binding(4) var<storage, read_write> m2: array<f32>;
@group(0) @binding(5) var<storage, read_write> norms: array<f32>;

const WG = 64u;
var<workgroup> red: array<f32, WG>;

@compute @workgroup_size(WG)
fn sumsq(@builtin(local_invocation_id) li: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>) {
  let chunk = (p.n + p.slots - 1u) / p.slots;
  let end = min(p.n, (wg.x + 1u) * chunk);
  var s = 0.0;
  for (var i = wg.x * chunk + li.x; i < end; i += WG) {
    let g = grad[i] * p.gradScale;
    s += g * g;
  }
  red[li.x] = s;
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k >>= 1u) {
    if (li.x < k) { red[li.x] += red[li.x + k]; }
    workgroupBarrier();
  }
  if (li.x == 0u) { norms[wg.x] = red[0]; }
}

@compute @workgroup_size(1)
fn clip() {
  var total = 0.0;
  for (var i = 0u; i < p.slots; i++) { total += norms[i]; }
  var f = p.gradScale;
  if (p.maxNorm > 0.0) { f = f * min(1.0, p.maxNorm / max(sqrt(total), 1e-12)); }
  norms[p.slots] = f;
  norms[p.slots + 1u] = sqrt(total); // the global norm, for progress reports
}

// NaN or ±Inf (exponent bits all set): tested on the bits, which no float optimisation may fold away.
fn nonFinite(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7f800000u) == 0x7f800000u;
}

// A non-finite gradient norm leaves every parameter and moment as it was: the trainer stops and names the step.
@compute @workgroup_size(WG)
fn adamw(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * 65535u * WG;
  if (i >= p.n || nonFinite(norms[p.slots + 1u])) { return; }
  let g = grad[i] * norms[p.slots];
  let a = p.beta1 * m1[i] + (1.0 - p.beta1) * g;
  let b = p.beta2 * m2[i] + (1.0 - p.beta2) * g * g;
  m1[i] = a;
  m2[i] = b;
  let ah = a / (1.0 - pow(p.beta1, f32(p.step)));
  let bh = b / (1.0 - pow(p.beta2, f32(p.step)));
  param[i] = param[i] - p.lr * (ah / (sqrt(bh) + p.eps) + p.weightDecay * param[i]);
}

@compute @workgroup_size(WG)
fn sgd(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * 65535u * WG;
  if (i >= p.n || nonFinite(norms[p.slots + 1u])) { return; }
  param[i] = param[i] - p.lr * (grad[i] * norms[p.slots] + p.weightDecay * param[i]);
}
