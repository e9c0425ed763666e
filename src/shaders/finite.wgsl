// Non-finite check of a weight at load: counts the f32 values whose exponent bits are all ones (±Inf, NaN)
// and keeps the first such index. Reads raw bits: float comparisons may assume finite values.
// One dispatch per tensor, results in slot `slot` of a shared [count, 0xffffffff - first index] array.

struct Params {
  n: u32,
  slot: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> found: array<atomic<u32>>;

const WG = 256u;

@compute @workgroup_size(WG)
fn count(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  var n = 0u;
  var first = 0xffffffffu;
  for (var i = gid.x; i < p.n; i += groups.x * WG) {
    if ((x[i] & 0x7f800000u) == 0x7f800000u) {
      n++;
      first = min(first, i);
    }
  }
  if (n > 0u) {
    atomicAdd(&found[2u * p.slot], n);
    // Zero-initialised slots: the largest complement is the smallest index.
    atomicMax(&found[2u * p.slot + 1u], 0xffffffffu - first);
  }
}
