// Embedding gather: out[t, :] = table[ids[t], :]. GPT-2's position embedding uses the same kernel
// with position ids.

struct Params {
  T: u32,
  D: u32,
  rows: u32, // rows in the table, to refuse out-of-range ids without reading past it
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read> table: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = wg.x;
  let id = min(ids[t], p.rows - 1u);
  for (var i = lid.x; i < p.D; i += 64u) {
    out[t * p.D + i] = table[id * p.D + i];
  }
}
