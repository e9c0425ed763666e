// k-means (Lloyd) and class centroids over an activation matrix X [n, d] that stays on the GPU
// (src/engine/fit/kmeans.ts). `assign` labels each row with its nearest centroid; `means` averages the rows of each
// label, which is also how a centroid probe is fitted from known labels; `nearest` keeps each row's squared
// distance to the closest centre chosen so far (k-means++ seeding).

struct Params {
  n: u32,
  d: u32,
  k: u32,
  centre: u32, // `nearest`: which row of X is the new centre
};

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;              // [n, d]
@group(0) @binding(2) var<storage, read_write> M: array<f32>;        // [k, d] centroids
@group(0) @binding(3) var<storage, read_write> label: array<u32>;    // [n]
@group(0) @binding(4) var<storage, read_write> dist: array<f32>;     // [n] squared distance to the row's centroid
@group(0) @binding(5) var<storage, read_write> counts: array<atomic<u32>>; // [k + 1]: rows per cluster, then rows that changed cluster

// One thread per row. Ties go to the lower cluster index (as in the reference).
@compute @workgroup_size(64)
fn assign(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= p.n) { return; }
  var best = 0u;
  var bestD = 3.0e38;
  for (var c = 0u; c < p.k; c++) {
    var s = 0.0;
    for (var j = 0u; j < p.d; j++) {
      let e = X[i * p.d + j] - M[c * p.d + j];
      s += e * e;
    }
    if (s < bestD) { bestD = s; best = c; }
  }
  if (label[i] != best) { atomicAdd(&counts[p.k], 1u); }
  label[i] = best;
  dist[i] = bestD;
}

// One thread per (cluster c, column j): the mean of column j over the rows labelled c; thread j = 0 also counts
// them. A cluster with no rows keeps its old centroid (its count of 0 tells the host).
@compute @workgroup_size(64)
fn means(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * 64u;
  if (idx >= p.k * p.d) { return; }
  let c = idx / p.d;
  let j = idx % p.d;
  var s = 0.0;
  var comp = 0.0;
  var m = 0u;
  for (var i = 0u; i < p.n; i++) {
    if (label[i] == c) {
      let y = X[i * p.d + j] - comp;
      let t = s + y;
      comp = (t - s) - y;
      s = t;
      m++;
    }
  }
  if (m > 0u) { M[idx] = s / f32(m); }
  if (j == 0u) { atomicStore(&counts[c], m); }
}

// One thread per row: dist = min(dist, ‖x − x_centre‖²).
@compute @workgroup_size(64)
fn nearest(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= p.n) { return; }
  var s = 0.0;
  for (var j = 0u; j < p.d; j++) {
    let e = X[i * p.d + j] - X[p.centre * p.d + j];
    s += e * e;
  }
  dist[i] = min(dist[i], s);
}
