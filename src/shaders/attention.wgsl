// Causal self-attention with grouped KV heads. One workgroup per (query position, head).
// q and k are stored before rotary (they are hook points, and the KV cache keeps raw keys);
// rotary (HF rotate-half) is applied here as they are read, from a cos/sin table, at each token's position
// id (posIds; usually its index, but a method may give patched tokens the positions they had elsewhere).
// Causality is by index: query t attends to keys 0 ..= past + t. With RANGES, each query instead attends to the
// key rows ranges[2t] ..= ranges[2t + 1] (its own row last): several sequences packed into one call, or decoding
// sequences that own separate stretches of one KV cache (engine/batch.ts).
//
// main:           fused scores -> online softmax -> pattern · V, in chunks of CH keys;
//                 with MAPS it also writes scores and pattern (the hook points).
// scores, softmax_rows, attend_pattern: the same computation in three passes, used when a hook
//                 edits the scores or the pattern between the steps.

struct Params {
  T: u32,        // query positions in this call
  past: u32,     // keys before this call; query t sits at absolute position past + t
  nHeads: u32,
  group: u32,    // query heads per KV head
  dh: u32,
  qStride: u32,
  qOffset: u32,
  kStride: u32,
  kOffset: u32,
  vStride: u32,
  vOffset: u32,
  scale: f32,
  negInf: u32,   // bits of -inf: WGSL constants cannot be infinite
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> Q: array<f32>;
@group(0) @binding(2) var<storage, read> K: array<f32>;
@group(0) @binding(3) var<storage, read> V: array<f32>;
@group(0) @binding(4) var<storage, read> rope: array<vec2<f32>>; // [position, dh/2]: (cos, sin)
@group(0) @binding(5) var<storage, read_write> Z: array<f32>;    // [T, nHeads * dh]
@group(0) @binding(6) var<storage, read_write> S: array<f32>;    // scores  [nHeads, T, Tk]
@group(0) @binding(7) var<storage, read_write> P: array<f32>;    // pattern [nHeads, T, Tk]
@group(0) @binding(8) var<storage, read> posIds: array<u32>;     // [Tk]: position id of every key (rotary angle)
@group(0) @binding(9) var<storage, read> ranges: array<u32>;     // RANGES: [T, 2] first and last key row per query

override ROPE: bool = true;
override MAPS: bool = false;
override RANGES: bool = false;
const WG = 64u;
const CH = 1024u;
const MAXD = 256u;
const DPT = MAXD / WG; // head dims owned per thread

var<workgroup> q: array<f32, MAXD>;
var<workgroup> chunk: array<f32, CH>;
var<workgroup> red: array<f32, WG>;

// The key rows query t attends to, first and last (the query's own row).
fn keySpan(t: u32) -> vec2<u32> {
  if (RANGES) { return vec2<u32>(ranges[2u * t], ranges[2u * t + 1u]); }
  return vec2<u32>(0u, p.past + t);
}

fn loadQuery(t: u32, h: u32, lid: u32, last: u32) {
  let base = t * p.qStride + p.qOffset + h * p.dh;
  let half = p.dh / 2u;
  let pos = posIds[last];
  for (var d = lid; d < p.dh; d += WG) {
    if (ROPE) {
      let i = d % half;
      let cs = rope[pos * half + i];
      let x1 = Q[base + i];
      let x2 = Q[base + i + half];
      q[d] = select(x2 * cs.x + x1 * cs.y, x1 * cs.x - x2 * cs.y, d < half);
    } else {
      q[d] = Q[base + d];
    }
  }
  workgroupBarrier();
}

fn keyScore(kp: u32, kvh: u32) -> f32 {
  let base = kp * p.kStride + p.kOffset + kvh * p.dh;
  var s = 0.0;
  if (ROPE) {
    let half = p.dh / 2u;
    for (var d = 0u; d < half; d++) {
      let cs = rope[posIds[kp] * half + d];
      let k1 = K[base + d];
      let k2 = K[base + d + half];
      s += q[d] * (k1 * cs.x - k2 * cs.y) + q[d + half] * (k2 * cs.x + k1 * cs.y);
    }
  } else {
    for (var d = 0u; d < p.dh; d++) { s += q[d] * K[base + d]; }
  }
  return s * p.scale;
}

fn reduceMax(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

fn reduceSum(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

fn mapIndex(h: u32, t: u32, kp: u32) -> u32 {
  return (h * p.T + t) * (p.past + p.T) + kp;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) li: vec3<u32>) {
  let t = wg.x;
  let h = wg.y;
  let lid = li.x;
  let kvh = h / p.group;
  let span = keySpan(t);
  let nk = span.y + 1u; // causal: keys span.x ..= the query's own row
  loadQuery(t, h, lid, span.y);
  var m = -1e30;
  var l = 0.0;
  var acc = vec4<f32>(0.0); // head dims lid, lid + WG, lid + 2WG, lid + 3WG
  let kvBase = p.vOffset + kvh * p.dh;
  for (var c0 = span.x; c0 < nk; c0 += CH) {
    let len = min(CH, nk - c0);
    var lm = -1e30;
    for (var j = lid; j < len; j += WG) {
      let s = keyScore(c0 + j, kvh);
      chunk[j] = s;
      if (MAPS) { S[mapIndex(h, t, c0 + j)] = s; }
      lm = max(lm, s);
    }
    let mNew = max(m, reduceMax(lm, lid));
    let corr = exp(m - mNew);
    var ls = 0.0;
    for (var j = lid; j < len; j += WG) {
      let e = exp(chunk[j] - mNew);
      chunk[j] = e;
      ls += e;
    }
    l = l * corr + reduceSum(ls, lid);
    m = mNew;
    acc *= corr;
    for (var j = 0u; j < len; j++) {
      let row = (c0 + j) * p.vStride + kvBase;
      let e = chunk[j];
      for (var i = 0u; i < DPT; i++) {
        let d = lid + i * WG;
        if (d < p.dh) { acc[i] += e * V[row + d]; }
      }
    }
    workgroupBarrier(); // the next chunk overwrites `chunk`
  }
  for (var i = 0u; i < DPT; i++) {
    let d = lid + i * WG;
    if (d < p.dh) { Z[t * p.nHeads * p.dh + h * p.dh + d] = acc[i] / l; }
  }
  if (MAPS) {
    let tk = p.past + p.T;
    let ninf = bitcast<f32>(p.negInf);
    for (var kp = nk + lid; kp < tk; kp += WG) { S[mapIndex(h, t, kp)] = ninf; }
    storageBarrier();
    for (var kp = lid; kp < tk; kp += WG) {
      P[mapIndex(h, t, kp)] = select(0.0, exp(S[mapIndex(h, t, kp)] - m) / l, kp < nk);
    }
  }
}

@compute @workgroup_size(WG)
fn scores(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) li: vec3<u32>) {
  let t = wg.x;
  let h = wg.y;
  loadQuery(t, h, li.x, p.past + t);
  let nk = p.past + t + 1u;
  let ninf = bitcast<f32>(p.negInf);
  for (var kp = li.x; kp < p.past + p.T; kp += WG) {
    S[mapIndex(h, t, kp)] = select(ninf, keyScore(kp, h / p.group), kp < nk);
  }
}

// Softmax of each (possibly edited) score row into the pattern.
@compute @workgroup_size(WG)
fn softmax_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) li: vec3<u32>) {
  let t = wg.x;
  let h = wg.y;
  let lid = li.x;
  let tk = p.past + p.T;
  var lm = -1e30;
  for (var kp = lid; kp < tk; kp += WG) { lm = max(lm, S[mapIndex(h, t, kp)]); }
  let m = reduceMax(lm, lid);
  var ls = 0.0;
  for (var kp = lid; kp < tk; kp += WG) { ls += exp(S[mapIndex(h, t, kp)] - m); }
  let l = reduceSum(ls, lid);
  for (var kp = lid; kp < tk; kp += WG) { P[mapIndex(h, t, kp)] = exp(S[mapIndex(h, t, kp)] - m) / l; }
}

// z = pattern · V for a (possibly edited) pattern.
@compute @workgroup_size(WG)
fn attend_pattern(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) li: vec3<u32>) {
  let t = wg.x;
  let h = wg.y;
  let kvh = h / p.group;
  let tk = p.past + p.T;
  for (var d = li.x; d < p.dh; d += WG) {
    var a = 0.0;
    for (var kp = 0u; kp < tk; kp++) {
      a += P[mapIndex(h, t, kp)] * V[kp * p.vStride + p.vOffset + kvh * p.dh + d];
    }
    Z[t * p.nHeads * p.dh + h * p.dh + d] = a;
  }
}

// Prefill for head_dim ≤ 128 (a multiple of 4; of 8 with rotary): one thread per (query, head), online softmax over its keys in registers.
// No barriers or shared memory: on SwiftShader a workgroup barrier costs more than this row's arithmetic.
// D4 = head_dim / 4 is a pipeline constant, so the loops run exactly that often (guarded loops to MAXD4 cost
// SwiftShader their full length).
const MAXD4 = 32u;
override D4: u32 = MAXD4;

@compute @workgroup_size(WG)
fn rows(@builtin(global_invocation_id) gid: vec3<u32>) {
  let r = gid.x;
  if (r >= p.T * p.nHeads) { return; }
  let t = r / p.nHeads;
  let h = r % p.nHeads;
  let kvh = h / p.group;
  let span = keySpan(t);
  let last = span.y; // this query's own key row: keys span.x ..= last
  let pos = posIds[last];
  let half = p.dh / 2u;
  // The rotated query, as vec4s.
  var qv: array<vec4<f32>, MAXD4>;
  let qb = t * p.qStride + p.qOffset + h * p.dh;
  for (var i = 0u; i < D4; i++) {
    var x = vec4<f32>(Q[qb + 4u * i], Q[qb + 4u * i + 1u], Q[qb + 4u * i + 2u], Q[qb + 4u * i + 3u]);
    if (ROPE) {
      var y: vec4<f32>;
      for (var c = 0u; c < 4u; c++) {
        let d = 4u * i + c;
        let j = d % half;
        let cs = rope[pos * half + j];
        let x1 = Q[qb + j];
        let x2 = Q[qb + j + half];
        y[c] = select(x2 * cs.x + x1 * cs.y, x1 * cs.x - x2 * cs.y, d < half);
      }
      x = y;
    }
    qv[i] = x;
  }
  var m = -1e30;
  var l = 0.0;
  var acc: array<vec4<f32>, MAXD4>;
  let H4 = D4 / 2u; // vec4s per rotary half (with rotary, head_dim is a multiple of 8)
  for (var kp = span.x; kp <= last; kp++) {
    let kb = kp * p.kStride + p.kOffset + kvh * p.dh;
    var s = 0.0;
    if (ROPE) {
      // Rotate the key a vec4 of each half at a time: (k1, k2) → (k1 c − k2 s, k2 c + k1 s).
      let cb = posIds[kp] * half;
      for (var i = 0u; i < H4; i++) {
        let k1 = vec4<f32>(K[kb + 4u * i], K[kb + 4u * i + 1u], K[kb + 4u * i + 2u], K[kb + 4u * i + 3u]);
        let k2b = kb + half + 4u * i;
        let k2 = vec4<f32>(K[k2b], K[k2b + 1u], K[k2b + 2u], K[k2b + 3u]);
        let r0 = rope[cb + 4u * i];
        let r1 = rope[cb + 4u * i + 1u];
        let r2 = rope[cb + 4u * i + 2u];
        let r3 = rope[cb + 4u * i + 3u];
        let c = vec4<f32>(r0.x, r1.x, r2.x, r3.x);
        let sn = vec4<f32>(r0.y, r1.y, r2.y, r3.y);
        s += dot(qv[i], k1 * c - k2 * sn) + dot(qv[i + H4], k2 * c + k1 * sn);
      }
    } else {
      for (var i = 0u; i < D4; i++) {
        s += dot(qv[i], vec4<f32>(K[kb + 4u * i], K[kb + 4u * i + 1u], K[kb + 4u * i + 2u], K[kb + 4u * i + 3u]));
      }
    }
    s *= p.scale;
    if (MAPS) { S[mapIndex(h, t, kp)] = s; }
    let mNew = max(m, s);
    let corr = exp(m - mNew);
    let e = exp(s - mNew);
    l = l * corr + e;
    m = mNew;
    let vb = kp * p.vStride + p.vOffset + kvh * p.dh;
    for (var i = 0u; i < D4; i++) {
      acc[i] = acc[i] * corr + e * vec4<f32>(V[vb + 4u * i], V[vb + 4u * i + 1u], V[vb + 4u * i + 2u], V[vb + 4u * i + 3u]);
    }
  }
  let zb = t * p.nHeads * p.dh + h * p.dh;
  for (var i = 0u; i < D4; i++) {
    let z = acc[i] / l;
    Z[zb + 4u * i] = z.x;
    Z[zb + 4u * i + 1u] = z.y;
    Z[zb + 4u * i + 2u] = z.z;
    Z[zb + 4u * i + 3u] = z.w;
  }
  if (MAPS) {
    let tk = p.past + p.T;
    let ninf = bitcast<f32>(p.negInf);
    for (var kp = 0u; kp < tk; kp++) {
      let at = mapIndex(h, t, kp);
      if (kp <= last) {
        P[at] = exp(S[at] - m) / l;
      } else {
        S[at] = ninf;
        P[at] = 0.0;
      }
    }
  }
}
