// General strided matmul, C = beta * C + alpha * A · B, with every operand addressed by (offset, row
// stride, column stride) so transposes and column slices cost nothing. It serves the backward pass
// (dX = dY · W, dW = dYᵀ · X) and LoRA's low-rank products, where the inner dimension can be any size.
//   C[m, n] at c0 + m*cm + n*cn;  A[m, k] at a0 + m*am + k*ak;  B[k, n] at b0 + k*bk + n*bn

struct Params {
  M: u32,
  N: u32,
  K: u32,
  a0: u32,
  am: u32,
  ak: u32,
  b0: u32,
  bk: u32,
  bn: u32,
  c0: u32,
  cm: u32,
  cn: u32,
  alpha: f32,
  beta: f32, // 0 overwrites C (its old value is never read)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;

// Row m of C from columns n0..n0+3, those past N dropped.
fn store(m: u32, n0: u32, v: vec4<f32>) {
  for (var j = 0u; j < 4u; j++) {
    if (n0 + j < p.N) {
      let i = p.c0 + m * p.cm + (n0 + j) * p.cn;
      if (p.beta == 0.0) { C[i] = p.alpha * v[j]; } else { C[i] = p.beta * C[i] + p.alpha * v[j]; }
    }
  }
}

// 8x8 threads, a 4x4 register tile each: per k, 8 loads feed 16 multiply-adds (2x2 fed 4 with 4).
@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n0 = gid.x * 4u;
  let m0 = gid.y * 4u;
  if (n0 >= p.N || m0 >= p.M) { return; }
  // Out-of-range rows and columns read a valid one and are never stored.
  let a0 = p.a0 + m0 * p.am;
  let a1 = p.a0 + min(m0 + 1u, p.M - 1u) * p.am;
  let a2 = p.a0 + min(m0 + 2u, p.M - 1u) * p.am;
  let a3 = p.a0 + min(m0 + 3u, p.M - 1u) * p.am;
  let b0 = p.b0 + n0 * p.bn;
  let b1 = p.b0 + min(n0 + 1u, p.N - 1u) * p.bn;
  let b2 = p.b0 + min(n0 + 2u, p.N - 1u) * p.bn;
  let b3 = p.b0 + min(n0 + 3u, p.N - 1u) * p.bn;
  var c0 = vec4<f32>(0.0);
  var c1 = vec4<f32>(0.0);
  var c2 = vec4<f32>(0.0);
  var c3 = vec4<f32>(0.0);
  for (var k = 0u; k < p.K; k++) {
    let ka = k * p.ak;
    let kb = k * p.bk;
    let b = vec4<f32>(B[b0 + kb], B[b1 + kb], B[b2 + kb], B[b3 + kb]);
    c0 += A[a0 + ka] * b;
    c1 += A[a1 + ka] * b;
    c2 += A[a2 + ka] * b;
    c3 += A[a3 + ka] * b;
  }
  store(m0, n0, c0);
  if (m0 + 1u < p.M) { store(m0 + 1u, n0, c1); }
  if (m0 + 2u < p.M) { store(m0 + 2u, n0, c2); }
  if (m0 + 3u < p.M) { store(m0 + 3u, n0, c3); }
}
