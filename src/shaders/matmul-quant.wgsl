// Linear layer over packed weights (engine/quant.ts): C[m, nOff + n] = sum_k A'[m, k] * W[n, k] + bias[nOff + n],
// with W dequantized as it is loaded. QBITS picks the packing: 8 (int8 · f32 scale per group of 32),
// 4 (nibble · f16 scale + f16 min per group of 32), 16 (f16 pairs, unpacked to f32: no shader-f16 needed)
// or 32 (plain f32, for matrices split by rows).
// Same prologue affine (a norm's weight and bias on A) and fused residual (R = res + C) as matmul.wgsl.
// A row-split matrix runs one dispatch per part; nOff places the part's columns and ldc is C's row stride.
// Each thread computes TM rows x 4 columns; per group the dot products are taken on the integers and
// scaled once: sum_k a·(q·s + m) = s·sum_k a·q + m·sum_k a.

struct Params {
  M: u32,
  N: u32,     // columns in this part
  K: u32,
  aRow0: u32, // first row of A to read (the last position only, for generation)
  G: u32,     // groups of 32 per weight row
  WPR: u32,   // u32 words per weight row (K for f32, K/2 for f16)
  gOff: u32,  // u32 offset of the group data
  nOff: u32,  // first output column of this part
  ldc: u32,   // row stride of C, res and R
  row0: u32,  // gather: first table row this part holds
  acc: u32,   // dx: 1 adds into dA, 0 overwrites it
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> A: array<vec4<f32>>; // gather: the token ids, as u32 bits
@group(0) @binding(2) var<storage, read> W: array<u32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> pro: array<vec4<f32>>; // [2, K/4]: scale, then shift
@group(0) @binding(5) var<storage, read> res: array<f32>; // dx: dC
@group(0) @binding(6) var<storage, read_write> C: array<f32>; // dx: dA
@group(0) @binding(7) var<storage, read_write> R: array<f32>;

override QBITS: u32 = 8u;
override WGX: u32 = 16u;
override WGY: u32 = 4u;
override TM: u32 = 4u; // rows per thread, 1..4
override HAS_BIAS: bool = false;
override HAS_SCALE: bool = false;
override HAS_SHIFT: bool = false;
override HAS_RES: bool = false;

// Four nibbles starting at bit `sh`.
fn u4x4(u: u32, sh: u32) -> vec4<f32> {
  return vec4<f32>((vec4<u32>(u) >> (vec4<u32>(0u, 4u, 8u, 12u) + vec4<u32>(sh))) & vec4<u32>(15u));
}

@compute @workgroup_size(WGX, WGY)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let n0 = (wg.x * WGX + lid.x) * 4u;
  let m0 = (wg.y * WGY + lid.y) * TM;
  if (n0 >= p.N || m0 >= p.M) { return; }
  let K4 = p.K / 4u;
  // Out-of-range rows and columns read a valid row and are never stored.
  let nr = vec4<u32>(n0, min(n0 + 1u, p.N - 1u), min(n0 + 2u, p.N - 1u), min(n0 + 3u, p.N - 1u));
  let wr = nr * p.WPR;
  let gr = p.gOff + nr * p.G;
  let a0r = (p.aRow0 + m0) * K4;
  let a1r = (p.aRow0 + min(m0 + 1u, p.M - 1u)) * K4;
  let a2r = (p.aRow0 + min(m0 + 2u, p.M - 1u)) * K4;
  let a3r = (p.aRow0 + min(m0 + 3u, p.M - 1u)) * K4;
  var c0 = vec4<f32>(0.0);
  var c1 = vec4<f32>(0.0);
  var c2 = vec4<f32>(0.0);
  var c3 = vec4<f32>(0.0);
  for (var g = 0u; g < p.G; g++) {
    // Per group: integer dot products d (4 columns per row) and sums of A (for the q4 min).
    var d0 = vec4<f32>(0.0);
    var d1 = vec4<f32>(0.0);
    var d2 = vec4<f32>(0.0);
    var d3 = vec4<f32>(0.0);
    var s = vec4<f32>(0.0);
    for (var j = 0u; j < 8u; j++) {
      let k = g * 8u + j;
      if (k < K4) {
        var b0 = vec4<f32>(0.0);
        var b1 = vec4<f32>(0.0);
        var b2 = vec4<f32>(0.0);
        var b3 = vec4<f32>(0.0);
        if (QBITS == 8u) {
          // q / 127 (q is never -128); the group scale below carries the 127.
          b0 = unpack4x8snorm(W[wr.x + k]);
          b1 = unpack4x8snorm(W[wr.y + k]);
          b2 = unpack4x8snorm(W[wr.z + k]);
          b3 = unpack4x8snorm(W[wr.w + k]);
        } else if (QBITS == 4u) {
          let sh = (j & 1u) * 16u;
          b0 = u4x4(W[wr.x + k / 2u], sh);
          b1 = u4x4(W[wr.y + k / 2u], sh);
          b2 = u4x4(W[wr.z + k / 2u], sh);
          b3 = u4x4(W[wr.w + k / 2u], sh);
        } else if (QBITS == 16u) {
          let i = 2u * k;
          b0 = vec4<f32>(unpack2x16float(W[wr.x + i]), unpack2x16float(W[wr.x + i + 1u]));
          b1 = vec4<f32>(unpack2x16float(W[wr.y + i]), unpack2x16float(W[wr.y + i + 1u]));
          b2 = vec4<f32>(unpack2x16float(W[wr.z + i]), unpack2x16float(W[wr.z + i + 1u]));
          b3 = vec4<f32>(unpack2x16float(W[wr.w + i]), unpack2x16float(W[wr.w + i + 1u]));
        } else {
          let i = 4u * k;
          b0 = bitcast<vec4<f32>>(vec4<u32>(W[wr.x + i], W[wr.x + i + 1u], W[wr.x + i + 2u], W[wr.x + i + 3u]));
          b1 = bitcast<vec4<f32>>(vec4<u32>(W[wr.y + i], W[wr.y + i + 1u], W[wr.y + i + 2u], W[wr.y + i + 3u]));
          b2 = bitcast<vec4<f32>>(vec4<u32>(W[wr.z + i], W[wr.z + i + 1u], W[wr.z + i + 2u], W[wr.z + i + 3u]));
          b3 = bitcast<vec4<f32>>(vec4<u32>(W[wr.w + i], W[wr.w + i + 1u], W[wr.w + i + 2u], W[wr.w + i + 3u]));
        }
        var sc = vec4<f32>(1.0);
        var sf = vec4<f32>(0.0);
        if (HAS_SCALE) { sc = pro[k]; }
        if (HAS_SHIFT) { sf = pro[K4 + k]; }
        let a0 = A[a0r + k] * sc + sf;
        d0 += vec4<f32>(dot(a0, b0), dot(a0, b1), dot(a0, b2), dot(a0, b3));
        s.x += a0.x + a0.y + a0.z + a0.w;
        if (TM > 1u) {
          let a1 = A[a1r + k] * sc + sf;
          d1 += vec4<f32>(dot(a1, b0), dot(a1, b1), dot(a1, b2), dot(a1, b3));
          s.y += a1.x + a1.y + a1.z + a1.w;
        }
        if (TM > 2u) {
          let a2 = A[a2r + k] * sc + sf;
          d2 += vec4<f32>(dot(a2, b0), dot(a2, b1), dot(a2, b2), dot(a2, b3));
          s.z += a2.x + a2.y + a2.z + a2.w;
        }
        if (TM > 3u) {
          let a3 = A[a3r + k] * sc + sf;
          d3 += vec4<f32>(dot(a3, b0), dot(a3, b1), dot(a3, b2), dot(a3, b3));
          s.w += a3.x + a3.y + a3.z + a3.w;
        }
      }
    }
    if (QBITS == 8u) {
      let sc = 127.0 * bitcast<vec4<f32>>(vec4<u32>(W[gr.x + g], W[gr.y + g], W[gr.z + g], W[gr.w + g]));
      c0 += sc * d0;
      c1 += sc * d1;
      c2 += sc * d2;
      c3 += sc * d3;
    } else if (QBITS == 4u) {
      let q0 = unpack2x16float(W[gr.x + g]);
      let q1 = unpack2x16float(W[gr.y + g]);
      let q2 = unpack2x16float(W[gr.z + g]);
      let q3 = unpack2x16float(W[gr.w + g]);
      let mn = vec4<f32>(q0.x, q1.x, q2.x, q3.x);
      let sc = vec4<f32>(q0.y, q1.y, q2.y, q3.y);
      c0 += sc * d0 + mn * s.x;
      c1 += sc * d1 + mn * s.y;
      c2 += sc * d2 + mn * s.z;
      c3 += sc * d3 + mn * s.w;
    } else {
      c0 += d0;
      c1 += d1;
      c2 += d2;
      c3 += d3;
    }
  }
  // Stores inlined per row: no helper reads a storage buffer under an override branch (SwiftShader).
  for (var r = 0u; r < TM; r++) {
    let m = m0 + r;
    if (m < p.M) {
      var v = c0;
      if (r == 1u) { v = c1; }
      if (r == 2u) { v = c2; }
      if (r == 3u) { v = c3; }
      for (var j = 0u; j < 4u; j++) {
        let n = n0 + j;
        if (n < p.N) {
          let col = p.nOff + n;
          var c = v[j];
          if (HAS_BIAS) { c += bias[col]; }
          C[m * p.ldc + col] = c;
          if (HAS_RES) { R[m * p.ldc + col] = res[m * p.ldc + col] + c; }
        }
      }
    }
  }
}

// Embedding gather from a packed table part: out[t, :] = row ids[t] when this part holds it.
// One workgroup per token; ids come in binding 1 as u32 bits, out is binding 6.
@compute @workgroup_size(64)
fn gather(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = wg.x;
  let id = bitcast<u32>(A[t / 4u][t % 4u]);
  if (id < p.row0 || id >= p.row0 + p.N) { return; }
  let r = id - p.row0;
  for (var i = lid.x; i < p.K; i += 64u) {
    var v = 0.0;
    if (QBITS == 8u) {
      let word = bitcast<i32>(W[r * p.WPR + i / 4u]);
      let q = (word << (24u - 8u * (i % 4u))) >> 24u;
      v = f32(q) * bitcast<f32>(W[p.gOff + r * p.G + i / 32u]);
    } else if (QBITS == 4u) {
      let q = (W[r * p.WPR + i / 8u] >> (4u * (i % 8u))) & 15u;
      let sm = unpack2x16float(W[p.gOff + r * p.G + i / 32u]);
      v = f32(q) * sm.y + sm.x;
    } else if (QBITS == 16u) {
      v = unpack2x16float(W[r * p.WPR + i / 2u])[i % 2u];
    } else {
      v = bitcast<f32>(W[r * p.WPR + i]);
    }
    C[t * p.K + i] = v;
  }
}

// The input gradient through frozen packed weights (no dW): dA[m, k] (+)= sum_n dC[m, nOff + n] · W[n, k] over
// this part's rows n, with W dequantized as it is read. dC is binding 5 (row stride ldc), dA binding 6 [M, K].
// Each thread takes 4 rows of dA and 4 consecutive k: one q8 word, half a q4 word, two f16 words, four f32.
@compute @workgroup_size(64)
fn dx(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let kq = wg.x * 64u + lid.x;
  let m0 = wg.y * 4u;
  if (4u * kq >= p.K) { return; }
  let g = kq / 8u;
  let d0r = m0 * p.ldc + p.nOff;
  let d1r = min(m0 + 1u, p.M - 1u) * p.ldc + p.nOff;
  let d2r = min(m0 + 2u, p.M - 1u) * p.ldc + p.nOff;
  let d3r = min(m0 + 3u, p.M - 1u) * p.ldc + p.nOff;
  var c0 = vec4<f32>(0.0);
  var c1 = vec4<f32>(0.0);
  var c2 = vec4<f32>(0.0);
  var c3 = vec4<f32>(0.0);
  for (var n = 0u; n < p.N; n++) {
    let w = n * p.WPR;
    var b = vec4<f32>(0.0);
    if (QBITS == 8u) {
      b = unpack4x8snorm(W[w + kq]) * (127.0 * bitcast<f32>(W[p.gOff + n * p.G + g]));
    } else if (QBITS == 4u) {
      let sm = unpack2x16float(W[p.gOff + n * p.G + g]);
      b = u4x4(W[w + kq / 2u], (kq & 1u) * 16u) * sm.y + vec4<f32>(sm.x);
    } else if (QBITS == 16u) {
      b = vec4<f32>(unpack2x16float(W[w + 2u * kq]), unpack2x16float(W[w + 2u * kq + 1u]));
    } else {
      let i = w + 4u * kq;
      b = bitcast<vec4<f32>>(vec4<u32>(W[i], W[i + 1u], W[i + 2u], W[i + 3u]));
    }
    c0 += res[d0r + n] * b;
    c1 += res[d1r + n] * b;
    c2 += res[d2r + n] * b;
    c3 += res[d3r + n] * b;
  }
  for (var r = 0u; r < 4u; r++) {
    let m = m0 + r;
    if (m < p.M) {
      var v = c0;
      if (r == 1u) { v = c1; }
      if (r == 2u) { v = c2; }
      if (r == 3u) { v = c3; }
      let o = m * p.K + 4u * kq;
      for (var j = 0u; j < 4u; j++) {
        var c = v[j];
        if (p.acc == 1u) { c += C[o + j]; }
        C[o + j] = c;
      }
    }
  }
}
