// Cross-entropy over rows of logits with a label per row (label < 0: not counted, e.g. prompt tokens).
// Writes each row's loss and the gradient d(mean loss)/d(logits) = (softmax - onehot) / counted rows.

struct Params {
  T: u32,
  V: u32,
  invCount: f32, // 1 / number of counted rows
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<i32>;
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;   // [T]
@group(0) @binding(4) var<storage, read_write> dLogits: array<f32>;

const WG = 64u;
var<workgroup> red: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) li: vec3<u32>) {
  let t = wg.x;
  let lid = li.x;
  let base = t * p.V;
  let label = labels[t];
  var m = -1e30;
  for (var i = lid; i < p.V; i += WG) { m = max(m, logits[base + i]); }
  red[lid] = m;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  m = red[0];
  workgroupBarrier();
  var z = 0.0;
  for (var i = lid; i < p.V; i += WG) { z += exp(logits[base + i] - m); }
  red[lid] = z;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  z = red[0];
  let w = select(0.0, p.invCount, label >= 0);
  for (var i = lid; i < p.V; i += WG) {
    let onehot = select(0.0, 1.0, i32(i) == label);
    dLogits[base + i] = w * (exp(logits[base + i] - m) / z - onehot);
  }
  if (lid == 0u) {
    loss[t] = select(0.0, log(z) + m - logits[base + u32(max(label, 0))], label >= 0);
  }
}
