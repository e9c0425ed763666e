// MLP activations and their backward. Gated (Llama): post = act(gate) * up, reading the fused [T, 2I]
// gate|up buffer; its backward gives d gate = d post * up * act'(gate) and d up = d post * act(gate).
// Plain (GPT-2): post = act(pre), d pre = d post * act'(pre).

struct Params {
  T: u32,
  I: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;        // the input (gate|up, or pre)
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;  // main: post; backward: d input
@group(0) @binding(3) var<storage, read> dPost: array<f32>;     // backward: gradient at post

override ACT: u32 = 0u; // 0 silu, 1 gelu_new (tanh), 2 gelu (erf), 3 quick_gelu
override GATED: bool = false;

fn sigmoid(x: f32) -> f32 {
  return 1.0 / (1.0 + exp(-x));
}

// erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7, below f32 rounding of the result).
fn erf(x: f32) -> f32 {
  let t = 1.0 / (1.0 + 0.3275911 * abs(x));
  let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-x * x);
  return sign(x) * y;
}

// (act(x), act'(x)). tanh is written through exp of a clamped argument: large |u| saturates, not overflows.
fn act2(x: f32) -> vec2<f32> {
  switch ACT {
    case 0u: {
      let s = sigmoid(x);
      return vec2<f32>(x * s, s * (1.0 + x * (1.0 - s)));
    }
    case 1u: {
      let c = 0.7978845608028654;
      let u = clamp(c * (x + 0.044715 * x * x * x), -15.0, 15.0);
      let e = exp(2.0 * u);
      let th = (e - 1.0) / (e + 1.0);
      let du = c * (1.0 + 3.0 * 0.044715 * x * x);
      return vec2<f32>(0.5 * x * (1.0 + th), 0.5 * (1.0 + th) + 0.5 * x * (1.0 - th * th) * du);
    }
    case 2u: {
      let cdf = 0.5 * (1.0 + erf(x * 0.7071067811865476));
      return vec2<f32>(x * cdf, cdf + x * 0.3989422804014327 * exp(-0.5 * x * x));
    }
    default: {
      let s = sigmoid(1.702 * x);
      return vec2<f32>(x * s, s + 1.702 * x * s * (1.0 - s));
    }
  }
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * 65535u * 64u;
  if (i >= p.T * p.I) { return; }
  if (GATED) {
    let t = i / p.I;
    let j = i % p.I;
    Y[i] = act2(X[t * 2u * p.I + j]).x * X[t * 2u * p.I + p.I + j];
  } else {
    Y[i] = act2(X[i]).x;
  }
}

@compute @workgroup_size(64)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * 65535u * 64u;
  if (i >= p.T * p.I) { return; }
  if (GATED) {
    let t = i / p.I;
    let j = i % p.I;
    let gi = t * 2u * p.I + j;
    let a = act2(X[gi]);
    Y[gi] = dPost[i] * X[gi + p.I] * a.y;
    Y[gi + p.I] = dPost[i] * a.x;
  } else {
    Y[i] = dPost[i] * act2(X[i]).y;
  }
}
