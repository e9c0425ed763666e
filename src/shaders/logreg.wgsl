// Multinomial logistic regression by accelerated proximal gradient (FISTA) over a standardised activation matrix
// Z [n, d] that stays on the GPU (src/engine/fit/logreg.ts). Parameters θ [(d + 1), C]: rows 0..d−1 the weights W,
// row d the bias. One iteration, all in one command buffer:
//   logits = Z·W (matmul-strided.wgsl, into L's first C columns) → softmax (L ← P − onehot, per-row loss in column C)
//   → ∇W = ZᵀL/n (matmul-strided.wgsl, into G) → colsum (∇b and the mean loss) → step (prox and momentum).
// The penalty is elastic net on W: λ₂/2·‖W‖² + λ₁·‖W‖₁ (the bias is free); the L1 part is the prox (soft threshold).

struct Params {
  n: u32,
  d: u32,
  C: u32,
  count: u32, // (d + 1)·C
  t: f32,     // step 1/L
  l1: f32,
  l2: f32,
  beta: f32,  // momentum of this iteration
};

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> labels: array<u32>;       // [n], each < C
@group(0) @binding(2) var<storage, read_write> L: array<f32>;      // [n, C + 1]: logits, then P − onehot and the loss
@group(0) @binding(3) var<storage, read_write> G: array<f32>;      // [count + 1]: gradient at y, then the gradient map; G[count] = mean loss
@group(0) @binding(4) var<storage, read_write> ty: array<f32>;     // [count] the extrapolated point y (gradients are taken here)
@group(0) @binding(5) var<storage, read_write> tx: array<f32>;     // [count] the iterate x
@group(0) @binding(6) var<storage, read_write> out: array<f32>;    // [2]: max |gradient map|, mean loss at y

// One thread per row: adds the bias, then the softmax residual and the cross-entropy (log-sum-exp, max-shifted).
@compute @workgroup_size(64)
fn softmax(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= p.n) { return; }
  let C = p.C;
  let row = i * (C + 1u);
  let b0 = p.d * C;
  var m = -3.0e38;
  for (var c = 0u; c < C; c++) {
    let z = L[row + c] + ty[b0 + c];
    L[row + c] = z;
    m = max(m, z);
  }
  var s = 0.0;
  for (var c = 0u; c < C; c++) { s += exp(L[row + c] - m); }
  let y = labels[i];
  let lse = m + log(s);
  L[row + C] = lse - L[row + y];
  for (var c = 0u; c < C; c++) {
    var r = exp(L[row + c] - lse);
    if (c == y) { r -= 1.0; }
    L[row + c] = r;
  }
}

// One thread per column of L: ∇b (columns < C, into θ's bias row of G) and the mean loss (column C, into G[count]).
@compute @workgroup_size(64)
fn colsum(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c > p.C) { return; }
  var s = 0.0;
  var comp = 0.0;
  for (var i = 0u; i < p.n; i++) {
    let y = L[i * (p.C + 1u) + c] - comp;
    let t = s + y;
    comp = (t - s) - y;
    s = t;
  }
  let v = s / f32(p.n);
  if (c < p.C) { G[p.d * p.C + c] = v; } else { G[p.count] = v; }
}

fn soft(v: f32, a: f32) -> f32 {
  return sign(v) * max(abs(v) - a, 0.0);
}

// One thread per parameter: x⁺ = prox(y − t(∇f(y) + λ₂y)), y⁺ = x⁺ + β(x⁺ − x); G keeps (y − x⁺)/t, the
// gradient map, whose size says how far y is from optimal (0 exactly at the optimum).
@compute @workgroup_size(64)
fn step(@builtin(global_invocation_id) gid: vec3<u32>) {
  let e = gid.x;
  if (e >= p.count) { return; }
  let penal = e < p.d * p.C;
  let y = ty[e];
  var g = G[e];
  if (penal) { g += p.l2 * y; }
  var xn = y - p.t * g;
  if (penal) { xn = soft(xn, p.t * p.l1); }
  G[e] = (y - xn) / p.t;
  ty[e] = xn + p.beta * (xn - tx[e]);
  tx[e] = xn;
}

// One workgroup: the gradient map's largest entry and the loss, for the host's convergence check.
var<workgroup> part: array<f32, 64>;

@compute @workgroup_size(64)
fn check(@builtin(local_invocation_index) t: u32) {
  var m = 0.0;
  for (var e = t; e < p.count; e += 64u) { m = max(m, abs(G[e])); }
  part[t] = m;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s >>= 1u) {
    if (t < s) { part[t] = max(part[t], part[t + s]); }
    workgroupBarrier();
  }
  if (t == 0u) {
    out[0] = part[0];
    out[1] = G[p.count];
  }
}
