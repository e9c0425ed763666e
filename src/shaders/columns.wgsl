// Column moments of an activation matrix X [n, d] (row-major) and its standardised copy Z = (X − μ)·s: the first
// step of every fit in src/engine/fit/. Sums are Kahan-compensated, so the f32 mean of 10⁵ rows keeps ~7 digits.
// A column with NaN or ±Inf (or sums past f32's range) gets a non-finite mean, which the host turns into an error.

struct Params {
  n: u32,
  d: u32,
  // 0: centre only (s = 1); 1: unit variance (s = 1/std); 2: unit norm after centring (s = 1/‖x − μ‖)
  mode: u32,
  centre: u32, // 0: μ is reported but not subtracted (s is then taken about 0)
};

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> stats: array<f32>; // [0, d): μ; [d, 2d): s (0 for a constant column); [2d, 3d): Σ(x − μ)²
@group(0) @binding(3) var<storage, read_write> Z: array<f32>;

// One thread per column; neighbouring threads read neighbouring addresses of each row.
@compute @workgroup_size(64)
fn moments(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j = gid.x;
  if (j >= p.d) { return; }
  var s = 0.0;
  var c = 0.0;
  for (var i = 0u; i < p.n; i++) {
    let y = X[i * p.d + j] - c;
    let t = s + y;
    c = (t - s) - y;
    s = t;
  }
  let mean = s / f32(p.n);
  var centre = mean;
  if (p.centre == 0u) { centre = 0.0; }
  var q = 0.0;
  c = 0.0;
  for (var i = 0u; i < p.n; i++) {
    let e = X[i * p.d + j] - centre;
    let y = e * e - c;
    let t = q + y;
    c = (t - q) - y;
    q = t;
  }
  var scale = 1.0;
  if (p.mode == 1u) { scale = inverseSqrt(q / f32(p.n)); }
  if (p.mode == 2u) { scale = inverseSqrt(q); }
  // A constant column carries nothing: scaled to 0 it drops out of every fit instead of dividing by zero.
  if (p.mode != 0u && q <= 0.0) { scale = 0.0; }
  stats[j] = mean;
  stats[p.d + j] = scale;
  stats[2u * p.d + j] = q;
}

@compute @workgroup_size(256)
fn standardize(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * 256u;
  if (idx >= p.n * p.d) { return; }
  let j = idx % p.d;
  var centre = stats[j];
  if (p.centre == 0u) { centre = 0.0; }
  Z[idx] = (X[idx] - centre) * stats[p.d + j];
}
