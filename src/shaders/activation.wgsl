// MLP activations. Gated (Llama): post = act(gate) * up, reading the fused [T, 2I] gate|up buffer.
// Plain (GPT-2): post = act(pre).

struct Params {
  T: u32,
  I: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;

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

fn act(x: f32) -> f32 {
  switch ACT {
    case 0u: { return x * sigmoid(x); }
    case 1u: {
      // tanh written through exp of a clamped argument: large |u| must saturate, not overflow.
      let u = clamp(0.7978845608028654 * (x + 0.044715 * x * x * x), -15.0, 15.0);
      let e = exp(2.0 * u);
      return 0.5 * x * (1.0 + (e - 1.0) / (e + 1.0));
    }
    case 2u: { return 0.5 * x * (1.0 + erf(x * 0.7071067811865476)); }
    default: { return x * sigmoid(1.702 * x); }
  }
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * 65535u * 64u;
  if (i >= p.T * p.I) { return; }
  if (GATED) {
    let t = i / p.I;
    let j = i % p.I;
    Y[i] = act(X[t * 2u * p.I + j]) * X[t * 2u * p.I + p.I + j];
  } else {
    Y[i] = act(X[i]);
  }
}
