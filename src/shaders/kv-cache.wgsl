// Append this step's keys and values (columns of the fused q|k|v projection) to the layer's KV cache.
// Keys are cached before rotary: attention rotates them by absolute position as it reads them.
// With ROWS, token t goes to cache row rows[t] (sequences decoded together own separate stretches of rows).

struct Params {
  T: u32,
  width: u32,    // kvHeads * headDim
  srcStride: u32,
  kOffset: u32,
  vOffset: u32,
  row0: u32,     // first cache row to write (= tokens already cached)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read_write> kCache: array<f32>;
@group(0) @binding(3) var<storage, read_write> vCache: array<f32>;
@group(0) @binding(4) var<storage, read> rows: array<u32>;

override ROWS: bool = false;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= p.T * p.width) { return; }
  let t = i / p.width;
  let c = i % p.width;
  let dst = select(p.row0 + t, rows[t], ROWS) * p.width + c;
  kCache[dst] = qkv[t * p.srcStride + p.kOffset + c];
  vCache[dst] = qkv[t * p.srcStride + p.vOffset + c];
}
