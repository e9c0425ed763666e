// Next-token choice on the GPU, one workgroup per row of logits, so generation reads back 4 bytes per sequence,
// not a vocabulary row. A NaN or +Inf logit has no answer: the id written is 0xffffffff (the caller refuses it), never
// argmax's index 0. Greedy: argmax, lowest index on ties. Otherwise x = (logit - max) / temperature, and the kept
// set is {x ≥ θ}: θ is found by bisection as the largest threshold keeping ≥ k tokens (top-k) and, within
// those, ≥ p of the probability mass (top-p) — the nucleus without sorting. Then the token where the
// cumulative kept mass, in index order, first reaches u · (kept mass).
// logsoftmax: log-probabilities of every row, for methods that score continuations.

struct Params {
  V: u32,
  rows: u32,
  topK: u32,     // 0: all
  greedy: u32,
  temperature: f32,
  topP: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>; // sample: [rows] ids (as bits); logsoftmax: [rows, V]
@group(0) @binding(3) var<storage, read> us: array<f32>;         // sample: [rows] uniforms in [0, 1) from the seeded generator

// Threads per row (a power of two): fewer for small vocabularies, where SwiftShader's barriers cost more than the scan.
override WG: u32 = 256u;
var<workgroup> rv: array<f32, WG>;
var<workgroup> ri: array<u32, WG>;
var<workgroup> nonFinite: atomic<u32>; // workgroup memory starts zeroed

const NO_TOKEN = 0xffffffffu;

// NaN or +Inf, from the bits (float comparisons may assume finite values). -Inf is a masked token.
fn badLogit(x: f32) -> bool {
  let b = bitcast<u32>(x);
  return (b & 0x7fffffffu) > 0x7f800000u || b == 0x7f800000u;
}

fn sumAll(v: f32, lid: u32) -> f32 {
  rv[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { rv[lid] += rv[lid + s]; }
    workgroupBarrier();
  }
  let r = workgroupUniformLoad(&rv[0]); // uniform: the bisection may stop on it
  workgroupBarrier();
  return r;
}

var<workgroup> rv2: array<vec2<f32>, WG>;

fn sumAll2(v: vec2<f32>, lid: u32) -> vec2<f32> {
  rv2[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { rv2[lid] += rv2[lid + s]; }
    workgroupBarrier();
  }
  let r = workgroupUniformLoad(&rv2[0]);
  workgroupBarrier();
  return r;
}

fn maxAll(v: f32, lid: u32) -> f32 {
  rv[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { rv[lid] = max(rv[lid], rv[lid + s]); }
    workgroupBarrier();
  }
  let r = rv[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(WG)
fn sample(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) li: vec3<u32>) {
  let lid = li.x;
  let row = wg.x;
  let at = row * p.V;
  let u = us[row];
  let chunk = (p.V + WG - 1u) / WG;
  let lo = min(lid * chunk, p.V);
  let hi = min(lo + chunk, p.V);
  // Argmax (also the greedy answer): value, then lowest index.
  var bv = -3.0e38;
  var bi = 0u;
  var bad = false;
  for (var i = lo; i < hi; i++) {
    if (logits[at + i] > bv) { bv = logits[at + i]; bi = i; }
    bad = bad || badLogit(logits[at + i]);
  }
  if (bad) { atomicStore(&nonFinite, 1u); }
  rv[lid] = bv;
  ri[lid] = select(bi, 0xffffffffu, lo >= hi);
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      let ov = rv[lid + s];
      let oi = ri[lid + s];
      if (oi != 0xffffffffu && (ri[lid] == 0xffffffffu || ov > rv[lid] || (ov == rv[lid] && oi < ri[lid]))) {
        rv[lid] = ov;
        ri[lid] = oi;
      }
    }
    workgroupBarrier();
  }
  let m = rv[0];
  let best = ri[0];
  workgroupBarrier();
  let refuse = atomicLoad(&nonFinite) != 0u;
  if (p.greedy == 1u) {
    if (lid == 0u) { out[row] = bitcast<f32>(select(best, NO_TOKEN, refuse)); }
    return;
  }
  let invT = 1.0 / p.temperature;
  // Top-k threshold: the largest θ with count(x ≥ θ) ≥ k.
  var thK = -1.0e30;
  if (p.topK > 0u && p.topK < p.V) {
    var a = -200.0;
    var b = 0.0;
    for (var it = 0u; it < 30u; it++) {
      let mid = 0.5 * (a + b);
      var c = 0.0;
      for (var i = lo; i < hi; i++) { c += select(0.0, 1.0, (logits[at + i] - m) * invT >= mid); }
      if (sumAll(c, lid) >= f32(p.topK)) { a = mid; } else { b = mid; }
    }
    thK = a;
  }
  var zk = 0.0;
  for (var i = lo; i < hi; i++) {
    let x = (logits[at + i] - m) * invT;
    zk += select(0.0, exp(x), x >= thK);
  }
  let zK = sumAll(zk, lid);
  // Top-p threshold inside the top-k set: the largest θ whose kept mass is ≥ p.
  var th = thK;
  if (p.topP < 1.0) {
    var a = max(thK, -200.0);
    var b = 0.0;
    var bBelow = false; // b's mass is known to be < p (b = 0 may keep p alone: the max token)
    for (var it = 0u; it < 30u; it++) {
      let mid = 0.5 * (a + b);
      // The mass above mid, and how many top-k tokens lie in [a, b): once b's mass is below p and only one
      // does, every further step keeps that one and no other, so the kept set {x ≥ a} is already final.
      var zi = vec2<f32>(0.0);
      for (var i = lo; i < hi; i++) {
        let x = (logits[at + i] - m) * invT;
        zi += select(vec2<f32>(0.0), vec2<f32>(select(0.0, exp(x), x >= mid), select(0.0, 1.0, x >= a && x < b)), x >= thK);
      }
      let r = sumAll2(zi, lid);
      if (bBelow && r.y <= 1.0) { break; }
      if (r.x >= p.topP * zK) { a = mid; } else { b = mid; bBelow = true; }
    }
    th = max(a, thK);
  }
  // Kept mass per thread chunk, then the chunk where u · total falls, then the token inside it.
  var zc = 0.0;
  for (var i = lo; i < hi; i++) {
    let x = (logits[at + i] - m) * invT;
    zc += select(0.0, exp(x), x >= th);
  }
  rv[lid] = zc;
  workgroupBarrier();
  if (lid == 0u) {
    var total = 0.0;
    for (var j = 0u; j < WG; j++) { total += rv[j]; }
    // The chunk holding u · total, then the kept token inside it (rounding past the end keeps the last one).
    var goal = u * total;
    var chunkAt = WG - 1u;
    var searching = true;
    for (var j = 0u; j < WG; j++) {
      if (searching) {
        if (goal < rv[j]) { chunkAt = j; searching = false; } else { goal -= rv[j]; }
      }
    }
    let jlo = min(chunkAt * chunk, p.V);
    let jhi = min(jlo + chunk, p.V);
    var pick = best;
    searching = true;
    for (var i = jlo; i < jhi; i++) {
      let x = (logits[at + i] - m) * invT;
      if (searching && x >= th) {
        pick = i;
        goal -= exp(x);
        if (goal < 0.0) { searching = false; }
      }
    }
    out[row] = bitcast<f32>(select(pick, NO_TOKEN, refuse));
  }
}

@compute @workgroup_size(WG)
fn logsoftmax(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) li: vec3<u32>) {
  let base = wg.x * p.V;
  var m = -3.0e38;
  for (var i = li.x; i < p.V; i += WG) { m = max(m, logits[base + i]); }
  m = maxAll(m, li.x);
  var z = 0.0;
  for (var i = li.x; i < p.V; i += WG) { z += exp(logits[base + i] - m); }
  let lz = m + log(sumAll(z, li.x));
  for (var i = li.x; i < p.V; i += WG) { out[base + i] = logits[base + i] - lz; }
}
