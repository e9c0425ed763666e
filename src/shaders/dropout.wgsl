// Inverted dropout with a counter-based mask: element i is kept when hash(hash(seed) ^ i) ≥ threshold
// (threshold = p·2³²), and kept values are scaled by 1/(1−p). The backward regenerates the forward's
// mask from the same seed instead of storing it. lora.ts mirrors the hash on the CPU (dropoutMask).

struct Params {
  n: u32,
  seed: u32,
  threshold: u32,
  scale: f32, // 1 / (1 − p)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;

// lowbias32 (Chris Wellons): a cheap bijective 32-bit mixer.
fn mix32(x: u32) -> u32 {
  var h = x;
  h ^= h >> 16u;
  h *= 0x7feb352du;
  h ^= h >> 15u;
  h *= 0x846ca68bu;
  h ^= h >> 16u;
  return h;
}

fn kept(i: u32) -> f32 {
  return select(0.0, p.scale, mix32(mix32(p.seed) ^ i) >= p.threshold);
}

// Forward: Y = mask ⊙ X.
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * 65535u * 64u;
  if (i >= p.n) { return; }
  Y[i] = X[i] * kept(i);
}

// Backward: dX (Y here) += mask ⊙ dY (X here).
@compute @workgroup_size(64)
fn accumulate(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * 65535u * 64u;
  if (i >= p.n) { return; }
  Y[i] = Y[i] + X[i] * kept(i);
}
