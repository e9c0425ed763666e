// Hook edits in place: replace / add (steering) / zero, restricted to chosen positions and heads,
// and the gradient of an edit's value (for trained steering vectors and soft prompts).
// 'pos' layout: element (t, c) at t * rowStride + colOffset + c, head = c / headDim; position t takes
// row posMask[t] − 1 of the value (0: not edited), so one row can broadcast or rows can land anywhere.
// 'map' layout (attention scores, pattern): element (h, t, k) at (h * T + t) * Tk + k; the value is a whole map.

struct Params {
  T: u32,
  width: u32,     // columns per row ('pos') or Tk ('map')
  rowStride: u32,
  colOffset: u32,
  headDim: u32,   // 0: no head axis
  heads: u32,     // 'map': number of heads
  mode: u32,      // 0 replace, 1 add, 2 zero
  valueRows: u32, // rows of the value (value_grad)
  coeff: f32,
  isMap: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> X: array<f32>;
@group(0) @binding(2) var<storage, read> value: array<f32>;
@group(0) @binding(3) var<storage, read> posMask: array<u32>;  // [T]: value row + 1 at edited positions, else 0
@group(0) @binding(4) var<storage, read> headMask: array<u32>; // [heads]: 1 = edit this head
@group(0) @binding(5) var<storage, read_write> dValue: array<f32>; // value_grad's output

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * 65535u * 64u;
  var t: u32;
  var c: u32;
  var head: u32;
  var at: u32;
  if (p.isMap == 1u) {
    if (i >= p.heads * p.T * p.width) { return; }
    head = i / (p.T * p.width);
    t = (i / p.width) % p.T;
    c = i % p.width;
    at = i;
  } else {
    if (i >= p.T * p.width) { return; }
    t = i / p.width;
    c = i % p.width;
    head = select(0u, c / max(p.headDim, 1u), p.headDim > 0u);
    at = t * p.rowStride + p.colOffset + c;
  }
  if (posMask[t] == 0u || headMask[head] == 0u) { return; }
  let v = select(value[(posMask[t] - 1u) * p.width + c], value[i], p.isMap == 1u);
  switch p.mode {
    case 0u: { X[at] = v; }
    case 1u: { X[at] = X[at] + p.coeff * v; }
    default: { X[at] = 0.0; }
  }
}

// d loss / d value += coeff · Σ over the positions that took each value row of d loss / d X ('pos' layout;
// X holds the gradient here). One thread per value element.
@compute @workgroup_size(64)
fn value_grad(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * 65535u * 64u;
  if (i >= p.valueRows * p.width) { return; }
  let r = i / p.width + 1u;
  let c = i % p.width;
  let head = select(0u, c / max(p.headDim, 1u), p.headDim > 0u);
  if (headMask[head] == 0u) { return; }
  var s = 0.0;
  for (var t = 0u; t < p.T; t++) {
    if (posMask[t] == r) { s += X[t * p.rowStride + p.colOffset + c]; }
  }
  dValue[i] = dValue[i] + p.coeff * s;
}
