// Backward of causal self-attention (no KV cache; keys and queries are the same T positions),
// grouped KV heads, rotary applied as in the forward (q and k are hook points before rotary).
//   query_rows: one thread per (t, h): recompute the pattern row P, dP = dz·v, dS = P (dP - Σ P dP),
//               dq = Rᵀ(scale Σ_j dS_j k_rot_j). P and dS are kept for key_rows.
//   key_rows:   one thread per (j, kv head): dk = Rᵀ(scale Σ_{h,t} dS q_rot), dv = Σ_{h,t} P dz.

struct Params {
  T: u32,
  nHeads: u32,
  group: u32,   // query heads per KV head
  dh: u32,
  stride: u32,  // row stride of the fused q|k|v buffer and its gradient
  kOffset: u32,
  vOffset: u32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> QKV: array<f32>;
@group(0) @binding(2) var<storage, read> rope: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read> dZ: array<f32>;        // [T, nHeads * dh]
@group(0) @binding(4) var<storage, read_write> P: array<f32>;   // [nHeads, T, T]
@group(0) @binding(5) var<storage, read_write> dS: array<f32>;  // [nHeads, T, T]
@group(0) @binding(6) var<storage, read_write> dQKV: array<f32>;
@group(0) @binding(7) var<storage, read> posIds: array<u32>;    // [T]: rotary position id of each token

override ROPE: bool = true;
const MAXD4 = 32u;
// head_dim / 4 as a pipeline constant: the loops over a head run D4 times, not MAXD4 with most skipped.
override D4: u32 = MAXD4;

// Element d of the rotated head vector starting at `base`, for position `pos`.
fn rotated(base: u32, d: u32, pos: u32) -> f32 {
  let half = p.dh / 2u;
  let j = d % half;
  let cs = rope[pos * half + j];
  let x1 = QKV[base + j];
  let x2 = QKV[base + j + half];
  return select(x2 * cs.x + x1 * cs.y, x1 * cs.x - x2 * cs.y, d < half);
}

fn headVec(base: u32, pos: u32, i: u32) -> vec4<f32> {
  if (ROPE) {
    return vec4<f32>(rotated(base, 4u * i, pos), rotated(base, 4u * i + 1u, pos), rotated(base, 4u * i + 2u, pos), rotated(base, 4u * i + 3u, pos));
  }
  return vec4<f32>(QKV[base + 4u * i], QKV[base + 4u * i + 1u], QKV[base + 4u * i + 2u], QKV[base + 4u * i + 3u]);
}

fn mapAt(h: u32, t: u32, j: u32) -> u32 {
  return (h * p.T + t) * p.T + j;
}

@compute @workgroup_size(64)
fn query_rows(@builtin(global_invocation_id) gid: vec3<u32>) {
  let r = gid.x;
  if (r >= p.T * p.nHeads) { return; }
  let t = r / p.nHeads;
  let h = r % p.nHeads;
  let g = h / p.group;
  let qb = t * p.stride + h * p.dh;
  var q: array<vec4<f32>, MAXD4>;
  var dz: array<vec4<f32>, MAXD4>;
  let zb = t * p.nHeads * p.dh + h * p.dh;
  for (var i = 0u; i < D4; i++) {
    q[i] = headVec(qb, posIds[t], i);
    dz[i] = vec4<f32>(dZ[zb + 4u * i], dZ[zb + 4u * i + 1u], dZ[zb + 4u * i + 2u], dZ[zb + 4u * i + 3u]);
  }
  // Scores and their softmax.
  var m = -1e30;
  for (var j = 0u; j <= t; j++) {
    let kb = j * p.stride + p.kOffset + g * p.dh;
    var s = 0.0;
    for (var i = 0u; i < D4; i++) { s += dot(q[i], headVec(kb, posIds[j], i)); }
    s *= p.scale;
    P[mapAt(h, t, j)] = s;
    m = max(m, s);
  }
  var l = 0.0;
  for (var j = 0u; j <= t; j++) { l += exp(P[mapAt(h, t, j)] - m); }
  // P, dP = dz · v, and Σ P dP.
  var pdp = 0.0;
  for (var j = 0u; j <= t; j++) {
    let pj = exp(P[mapAt(h, t, j)] - m) / l;
    P[mapAt(h, t, j)] = pj;
    let vb = j * p.stride + p.vOffset + g * p.dh;
    var dp = 0.0;
    for (var i = 0u; i < D4; i++) {
      dp += dot(dz[i], vec4<f32>(QKV[vb + 4u * i], QKV[vb + 4u * i + 1u], QKV[vb + 4u * i + 2u], QKV[vb + 4u * i + 3u]));
    }
    dS[mapAt(h, t, j)] = dp;
    pdp += pj * dp;
  }
  // dS and dq_rot.
  var dq: array<vec4<f32>, MAXD4>;
  for (var j = 0u; j <= t; j++) {
    let ds = P[mapAt(h, t, j)] * (dS[mapAt(h, t, j)] - pdp);
    dS[mapAt(h, t, j)] = ds;
    let kb = j * p.stride + p.kOffset + g * p.dh;
    for (var i = 0u; i < D4; i++) { dq[i] += ds * headVec(kb, posIds[j], i); }
  }
  for (var j = t + 1u; j < p.T; j++) {
    P[mapAt(h, t, j)] = 0.0;
    dS[mapAt(h, t, j)] = 0.0;
  }
  writeUnrotated(qb, posIds[t], dq);
}

// dX = Rᵀ dX_rot: the rotation's transpose is the rotation by -angle.
fn writeUnrotated(base: u32, pos: u32, g: array<vec4<f32>, MAXD4>) {
  let half = p.dh / 2u;
  for (var d = 0u; d < p.dh; d++) {
    let gd = g[d / 4u][d % 4u] * p.scale;
    if (!ROPE) {
      dQKV[base + d] = gd;
    } else if (d < half) {
      let cs = rope[pos * half + d];
      let gp = g[(d + half) / 4u][(d + half) % 4u] * p.scale;
      dQKV[base + d] = gd * cs.x + gp * cs.y;
      dQKV[base + d + half] = gp * cs.x - gd * cs.y;
    }
  }
}

@compute @workgroup_size(64)
fn key_rows(@builtin(global_invocation_id) gid: vec3<u32>) {
  let nKv = p.nHeads / p.group;
  let r = gid.x;
  if (r >= p.T * nKv) { return; }
  let j = r / nKv;
  let g = r % nKv;
  var dk: array<vec4<f32>, MAXD4>;
  var dv: array<vec4<f32>, MAXD4>;
  for (var hh = 0u; hh < p.group; hh++) {
    let h = g * p.group + hh;
    for (var t = j; t < p.T; t++) {
      let ds = dS[mapAt(h, t, j)];
      let pj = P[mapAt(h, t, j)];
      let qb = t * p.stride + h * p.dh;
      let zb = t * p.nHeads * p.dh + h * p.dh;
      for (var i = 0u; i < D4; i++) {
        dk[i] += ds * headVec(qb, posIds[t], i);
        dv[i] += pj * vec4<f32>(dZ[zb + 4u * i], dZ[zb + 4u * i + 1u], dZ[zb + 4u * i + 2u], dZ[zb + 4u * i + 3u]);
      }
    }
  }
  let vb = j * p.stride + p.vOffset + g * p.dh;
  for (var d = 0u; d < p.dh; d++) { dQKV[vb + d] = dv[d / 4u][d % 4u]; }
  writeUnrotated(j * p.stride + p.kOffset + g * p.dh, posIds[j], dk);
}
