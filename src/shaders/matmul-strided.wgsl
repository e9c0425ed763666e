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

// 8x8 threads, 2x2 outputs each.
@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n0 = gid.x * 2u;
  let m0 = gid.y * 2u;
  if (n0 >= p.N || m0 >= p.M) { return; }
  let m1 = min(m0 + 1u, p.M - 1u);
  let n1 = min(n0 + 1u, p.N - 1u);
  var c00 = 0.0;
  var c01 = 0.0;
  var c10 = 0.0;
  var c11 = 0.0;
  for (var k = 0u; k < p.K; k++) {
    let a0v = A[p.a0 + m0 * p.am + k * p.ak];
    let a1v = A[p.a0 + m1 * p.am + k * p.ak];
    let b0v = B[p.b0 + k * p.bk + n0 * p.bn];
    let b1v = B[p.b0 + k * p.bk + n1 * p.bn];
    c00 += a0v * b0v;
    c01 += a0v * b1v;
    c10 += a1v * b0v;
    c11 += a1v * b1v;
  }
  let i00 = p.c0 + m0 * p.cm + n0 * p.cn;
  if (p.beta == 0.0) { C[i00] = p.alpha * c00; } else { C[i00] = p.beta * C[i00] + p.alpha * c00; }
  if (n0 + 1u < p.N) {
    let i = p.c0 + m0 * p.cm + (n0 + 1u) * p.cn;
    if (p.beta == 0.0) { C[i] = p.alpha * c01; } else { C[i] = p.beta * C[i] + p.alpha * c01; }
  }
  if (m0 + 1u < p.M) {
    let i = p.c0 + (m0 + 1u) * p.cm + n0 * p.cn;
    if (p.beta == 0.0) { C[i] = p.alpha * c10; } else { C[i] = p.beta * C[i] + p.alpha * c10; }
    if (n0 + 1u < p.N) {
      let j = p.c0 + (m0 + 1u) * p.cm + (n0 + 1u) * p.cn;
      if (p.beta == 0.0) { C[j] = p.alpha * c11; } else { C[j] = p.beta * C[j] + p.alpha * c11; }
    }
  }
}
