// Embedding backward: dTable[id, :] += Σ_{t: ids[t] = id} dOut[t, :]. The positions are grouped by id on the
// CPU (index = starts[G + 1], order[T], rows[G]); workgroup g owns one table row, so no two threads add to the
// same value and the sum's order is fixed (deterministic, unlike atomics).

struct Params {
  D: u32,
  G: u32, // distinct ids
  T: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> index: array<u32>;
@group(0) @binding(2) var<storage, read> dOut: array<f32>;
@group(0) @binding(3) var<storage, read_write> dTable: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let g = wg.x + wg.y * 65535u;
  if (g >= p.G) { return; }
  let begin = index[g];
  let end = index[g + 1u];
  let row = index[p.G + 1u + p.T + g];
  for (var i = lid.x; i < p.D; i += 64u) {
    var s = 0.0;
    for (var k = begin; k < end; k++) { s += dOut[index[p.G + 1u + k] * p.D + i]; }
    dTable[row * p.D + i] += s;
  }
}
