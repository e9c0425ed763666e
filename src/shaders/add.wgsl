// Elementwise sum: out = a + b (rebuilds a residual sum after a hook edited one of its terms),
// and out += a (gradients meeting at a residual sum).

struct Params {
  n: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * 65535u * 64u;
  if (i < p.n) { out[i] = a[i] + b[i]; }
}

@compute @workgroup_size(64)
fn acc(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * 65535u * 64u;
  if (i < p.n) { out[i] += a[i]; }
}

