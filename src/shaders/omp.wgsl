// Orthogonal matching pursuit over a standardised activation matrix Z [n, d] on the GPU (src/engine/fit/omp.ts).
// Per step the host picks the column most correlated with the residual (c = Zᵀr by matmul-strided.wgsl); `dots`
// gives that column's inner products with the chosen ones and with y (the new row of the small Gram system, solved
// on the host), and `residual` rebuilds r = y − Z_S·β.

struct Params {
  n: u32,
  d: u32,
  s: u32,   // columns in the support
  col: u32, // `dots`: the new column
};

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> Z: array<f32>;             // [n, d]
@group(0) @binding(2) var<storage, read> y: array<f32>;             // [n] centred target
@group(0) @binding(3) var<storage, read> support: array<u32>;       // [s] column indices
@group(0) @binding(4) var<storage, read> coef: array<f32>;          // [s] least-squares coefficients on the support
@group(0) @binding(5) var<storage, read_write> r: array<f32>;       // [n] residual
@group(0) @binding(6) var<storage, read_write> out: array<f32>;     // [s + 1]: ⟨z_col, z_support[q]⟩, then ⟨z_col, y⟩

// One thread per support entry (and one for y), each summing over the rows (Kahan).
@compute @workgroup_size(64)
fn dots(@builtin(global_invocation_id) gid: vec3<u32>) {
  let q = gid.x;
  if (q > p.s) { return; }
  var acc = 0.0;
  var comp = 0.0;
  for (var i = 0u; i < p.n; i++) {
    var other = 0.0;
    if (q < p.s) { other = Z[i * p.d + support[q]]; } else { other = y[i]; }
    let v = Z[i * p.d + p.col] * other - comp;
    let t = acc + v;
    comp = (t - acc) - v;
    acc = t;
  }
  out[q] = acc;
}

@compute @workgroup_size(64)
fn residual(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= p.n) { return; }
  var v = y[i];
  for (var q = 0u; q < p.s; q++) { v -= coef[q] * Z[i * p.d + support[q]]; }
  r[i] = v;
}
