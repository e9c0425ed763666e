// Scores of chosen tokens in rows of logits, so a caller reads back three numbers per token, never a vocabulary
// row (Hub vocabularies are 150k wide). One workgroup per row: log Z = max + log Σ exp(x - max); then, for each
// of the row's C chosen ids, its logit, its log-probability (logit - log Z) and its rank: how many tokens have a
// strictly larger logit (0 = the most likely). A NaN or +Inf logit in the row makes every log-probability NaN,
// which the caller refuses (float comparisons may assume finite values, so it is checked from the bits).

struct Params {
  V: u32,
  C: u32,        // chosen ids per row
  row0: u32,     // this call's first row in targets / out (rows are scored in chunks)
  nan: u32,      // bits of a NaN: WGSL constants cannot be NaN
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;      // [rows, V]
@group(0) @binding(2) var<storage, read> targets: array<u32>;     // [all rows, C]
@group(0) @binding(3) var<storage, read_write> out: array<f32>;   // [all rows, C, 3]: logit, log-probability, rank

// Threads per row (a power of two): fewer for small vocabularies, where SwiftShader's barriers cost more than the scan.
override WG: u32 = 256u;
var<workgroup> red: array<f32, WG>;
var<workgroup> nonFinite: atomic<u32>; // workgroup memory starts zeroed

fn badLogit(x: f32) -> bool {
  let b = bitcast<u32>(x);
  return (b & 0x7fffffffu) > 0x7f800000u || b == 0x7f800000u;
}

fn reduce(v: f32, lid: u32, useMax: bool) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = select(red[lid] + red[lid + s], max(red[lid], red[lid + s]), useMax); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(WG)
fn score(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) li: vec3<u32>) {
  let lid = li.x;
  let base = wg.x * p.V;
  let row = p.row0 + wg.x;
  var m = -3.0e38;
  var bad = false;
  for (var i = lid; i < p.V; i += WG) {
    let x = logits[base + i];
    m = max(m, x);
    bad = bad || badLogit(x);
  }
  if (bad) { atomicStore(&nonFinite, 1u); }
  m = reduce(m, lid, true);
  var z = 0.0;
  for (var i = lid; i < p.V; i += WG) { z += exp(logits[base + i] - m); }
  let logZ = m + log(reduce(z, lid, false));
  let refuse = atomicLoad(&nonFinite) != 0u;
  for (var c = 0u; c < p.C; c++) {
    let at = row * p.C + c;
    let x = logits[base + min(targets[at], p.V - 1u)];
    var above = 0.0;
    for (var i = lid; i < p.V; i += WG) { above += select(0.0, 1.0, logits[base + i] > x); }
    above = reduce(above, lid, false);
    if (lid == 0u) {
      out[3u * at] = x;
      out[3u * at + 1u] = select(x - logZ, bitcast<f32>(p.nan), refuse);
      out[3u * at + 2u] = above;
    }
  }
}
