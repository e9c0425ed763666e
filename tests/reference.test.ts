// CPU-only checks of the safetensors module, the tiny-model fixtures and the float64 reference forward.
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseConfig, ropeInvFreq, type ModelConfig } from '../src/engine/config';
import { hookNames, hookShape, type HookSpec } from '../src/engine/hooks';
import { makeTinyModel, TINY_KINDS, writeTinyModel, type TinyKind } from './fixtures/tiny-models';
import { activate, erf, loadRefModel, referenceForward, referenceGreedy, refModel, type RefModel } from './reference/reference';
import {
  f32ToBf16,
  f32ToF16,
  parseSafetensors,
  parseSafetensorsHeader,
  safetensorsHeaderSize,
  tensorToFloat32,
  writeSafetensors,
} from '../src/engine/safetensors';

/** Build a file by hand from a header object and raw data bytes (lets tests write invalid files). */
function rawFile(header: unknown, data: Uint8Array | number = 0, headerText?: string): Uint8Array {
  const json = new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const body = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + json.length + body.length);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 8);
  out.set(body, 8 + json.length);
  return out;
}

const u16 = (xs: number[]) => new Uint8Array(new Uint16Array(xs).buffer);

describe('safetensors', () => {
  it('round-trips F32 exactly and F16/BF16 to their rounded values, with an 8-aligned space-padded header', () => {
    const a = new Float32Array([1, -2.5, 3.25e-3, 1e30, -0, 7]);
    const file = writeSafetensors(
      {
        a16: { dtype: 'F16', shape: [2, 3], data: a.map((x) => Math.min(x, 60000)) },
        a32: { dtype: 'F32', shape: [3, 2], data: a },
        b: { dtype: 'BF16', shape: [6], data: a },
      },
      { format: 'pt', note: 'tiny' },
    );
    const headerLen = new DataView(file.buffer).getUint32(0, true);
    expect(headerLen % 8).toBe(0);
    expect(file[8 + headerLen - 1] === 0x20 || file[8 + headerLen - 1] === 0x7d).toBe(true);
    const st = parseSafetensors(file, 'mem.safetensors');
    expect(st.dataOffset).toBe(8 + headerLen);
    expect(st.metadata).toEqual({ format: 'pt', note: 'tiny' });
    // The 4-byte tensor is placed first so it stays 4-byte aligned.
    expect(st.tensors.get('a32')).toEqual({ dtype: 'F32', shape: [3, 2], begin: 0, end: 24 });
    expect(st.tensors.get('a16')).toEqual({ dtype: 'F16', shape: [2, 3], begin: 24, end: 36 });
    expect(Array.from(tensorToFloat32(file, st.tensors.get('a32')!, st.dataOffset))).toEqual(Array.from(a));
    const h = tensorToFloat32(file, st.tensors.get('a16')!, st.dataOffset);
    // 3.25e-3 is not exact in half precision: the nearest half is 2^-9 × (1 + 680/1024).
    expect(Array.from(h)).toEqual([1, -2.5, 2 ** -9 * (1 + 680 / 1024), 60000, -0, 7]);
    const b = tensorToFloat32(file, st.tensors.get('b')!, st.dataOffset);
    expect(Array.from(b)).toEqual([1, -2.5, f32Bf16(3.25e-3), f32Bf16(1e30), -0, 7]);
  });

  it('encodes F16 with round-to-nearest-even, subnormals, overflow and NaN', () => {
    expect(f32ToF16(1)).toBe(0x3c00);
    expect(f32ToF16(-2)).toBe(0xc000);
    expect(f32ToF16(65504)).toBe(0x7bff);
    expect(f32ToF16(65519)).toBe(0x7bff); // below the halfway point to 65536
    expect(f32ToF16(65520)).toBe(0x7c00); // tie between 65504 (odd) and 65536 (even → Inf)
    expect(f32ToF16(1 + 2 ** -11)).toBe(0x3c00); // tie → even mantissa 0
    expect(f32ToF16(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie → even mantissa 2
    expect(f32ToF16(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(f32ToF16(2 ** -25)).toBe(0x0000); // tie → 0
    expect(f32ToF16(3 * 2 ** -25)).toBe(0x0002); // 1.5 units → 2
    expect(f32ToF16(1023 * 2 ** -24)).toBe(0x03ff); // largest subnormal
    expect(f32ToF16(2 ** -14 - 2 ** -26)).toBe(0x0400); // rounds up into the smallest normal
    expect(f32ToF16(-0)).toBe(0x8000);
    expect(f32ToF16(-Infinity)).toBe(0xfc00);
    expect(f32ToF16(NaN) & 0x7c00).toBe(0x7c00);
    expect(f32ToF16(NaN) & 0x3ff).not.toBe(0);
  });

  it('encodes BF16 with round-to-nearest-even', () => {
    expect(f32ToBf16(1)).toBe(0x3f80);
    expect(f32ToBf16(1 + 2 ** -8)).toBe(0x3f80); // tie → even
    expect(f32ToBf16(1 + 3 * 2 ** -8)).toBe(0x3f82); // tie → even (up)
    expect(f32ToBf16(1 + 2 ** -8 + 2 ** -20)).toBe(0x3f81); // just above the tie
    expect(f32ToBf16(3.4028234663852886e38)).toBe(0x7f80); // f32 max rounds to Inf
    expect(f32ToBf16(-Infinity)).toBe(0xff80);
    const nan = f32ToBf16(NaN);
    expect(nan & 0x7f80).toBe(0x7f80);
    expect(nan & 0x7f).not.toBe(0);
  });

  it('decodes F16 subnormals, infinities and NaN', () => {
    const bits = [0x0001, 0x03ff, 0x0400, 0x3c00, 0xc000, 0x7bff, 0x7c00, 0xfc00, 0x7e00, 0x8000];
    const file = rawFile({ x: { dtype: 'F16', shape: [10], data_offsets: [0, 20] } }, u16(bits));
    const st = parseSafetensors(file);
    const x = tensorToFloat32(file, st.tensors.get('x')!, st.dataOffset);
    expect(Array.from(x.subarray(0, 8))).toEqual([2 ** -24, 1023 * 2 ** -24, 2 ** -14, 1, -2, 65504, Infinity, -Infinity]);
    expect(Number.isNaN(x[8])).toBe(true);
    expect(Object.is(x[9], -0)).toBe(true);
  });

  it('reads the header alone from its leading bytes', () => {
    const file = writeSafetensors({ w: { dtype: 'F32', shape: [4, 4], data: new Float32Array(16).fill(0.5) } });
    const need = safetensorsHeaderSize(file.subarray(0, 8), file.length, 'w.safetensors');
    const st = parseSafetensorsHeader(file.subarray(0, need), file.length, 'w.safetensors');
    expect(st.tensors.get('w')).toEqual({ dtype: 'F32', shape: [4, 4], begin: 0, end: 64 });
    expect(() => parseSafetensorsHeader(file.subarray(0, need - 1), file.length, 'w.safetensors')).toThrow(
      /w\.safetensors: need the first \d+ bytes/,
    );
  });

  it('accepts holes between tensors and empty tensors', () => {
    const file = rawFile(
      {
        a: { dtype: 'U8', shape: [2], data_offsets: [0, 2] },
        e: { dtype: 'F32', shape: [0, 3], data_offsets: [2, 2] },
        b: { dtype: 'I32', shape: [1], data_offsets: [4, 8] },
      },
      8,
    );
    expect([...parseSafetensors(file).tensors.keys()]).toEqual(['a', 'e', 'b']);
  });

  const bad: [string, Uint8Array, RegExp][] = [
    ['a file shorter than 8 bytes', new Uint8Array(5), /bad\.st: truncated, 5 bytes/],
    ['a header length past the end', (() => { const f = rawFile({}, 0); new DataView(f.buffer).setUint32(0, 999, true); return f; })(), /bad\.st: header length 999 runs past the end/],
    ['a huge (64-bit) header length', (() => { const f = rawFile({}, 0); new DataView(f.buffer).setUint32(4, 1, true); return f; })(), /header length 4294967298 runs past/],
    ['a header that is not JSON', rawFile(null, 0, '{"a": '), /bad\.st: header is not valid JSON/],
    ['a header that is a JSON array', rawFile([1, 2]), /bad\.st: header is not a JSON object/],
    ['an unknown dtype', rawFile({ x: { dtype: 'F12', shape: [1], data_offsets: [0, 4] } }, 4), /tensor "x" has unknown dtype "F12"/],
    ['a negative dimension', rawFile({ x: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, 4), /tensor "x" has a bad shape/],
    ['offsets out of range', rawFile({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, 4), /tensor "x" data_offsets \[0, 8\] run past the data section \(4 bytes\)/],
    ['reversed offsets', rawFile({ x: { dtype: 'U8', shape: [0], data_offsets: [3, 1] } }, 4), /tensor "x" has bad data_offsets/],
    ['a size that disagrees with the shape', rawFile({ x: { dtype: 'F16', shape: [3], data_offsets: [0, 4] } }, 4), /tensor "x" spans 4 bytes but shape \[3\] of F16 needs 6/],
    ['overlapping tensors', rawFile({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, y: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8), /"x" \[0, 8\) and "y" \[4, 8\) overlap/],
  ];
  for (const [what, file, msg] of bad) {
    it(`rejects ${what}, naming the file`, () => {
      expect(() => parseSafetensors(file, 'bad.st')).toThrow(msg);
    });
  }

  it('refuses to read non-float dtypes as floats and to write mismatched data', () => {
    const file = rawFile({ x: { dtype: 'I32', shape: [1], data_offsets: [0, 4] } }, 4);
    const st = parseSafetensors(file);
    expect(() => tensorToFloat32(file, st.tensors.get('x')!, st.dataOffset)).toThrow(/dtype I32 cannot be read as floats/);
    expect(() => writeSafetensors({ x: { dtype: 'F32', shape: [2, 2], data: new Float32Array(3) } })).toThrow(/"x" has 3 values but shape \[2, 2\] holds 4/);
  });
});

/** BF16 of an f32 (truncate-with-rounding), computed through its bits for the expectations above. */
function f32Bf16(x: number): number {
  return new Float32Array(new Uint32Array([f32ToBf16(x) << 16]).buffer)[0];
}

// ---------------------------------------------------------------- fixtures

describe('tiny model fixtures', () => {
  it('are deterministic per seed and differ across seeds', () => {
    const a = makeTinyModel('llama-gqa', 3).tensors['model.layers.1.mlp.up_proj.weight'].data;
    const b = makeTinyModel('llama-gqa', 3).tensors['model.layers.1.mlp.up_proj.weight'].data;
    const c = makeTinyModel('llama-gqa', 4).tensors['model.layers.1.mlp.up_proj.weight'].data;
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(maxDiff(a, c)).toBeGreaterThan(0.1);
  });

  it('use Hugging Face names, shapes and configs for each kind', () => {
    const names = (k: TinyKind) => Object.keys(makeTinyModel(k).tensors);
    const gqa = makeTinyModel('llama-gqa');
    const cfg = parseConfig(JSON.stringify(gqa.configJson));
    expect(cfg).toMatchObject({ arch: 'llama', nHeads: 4, nKvHeads: 2, headDim: 8, qkvBias: true, oBias: true, mlpBias: false, tiedEmbeddings: false });
    expect(cfg.rope!.llama3).toEqual({ factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 16 });
    expect(gqa.tensors['model.layers.0.self_attn.k_proj.weight'].shape).toEqual([16, 32]);
    expect(names('llama-gqa')).toContain('model.layers.1.self_attn.o_proj.bias');
    expect(names('llama-gqa')).toContain('lm_head.weight');
    expect(names('llama-gqa').some((n) => n.includes('mlp') && n.endsWith('bias'))).toBe(false);
    expect(names('llama-tied').some((n) => n === 'lm_head.weight' || n.endsWith('.bias'))).toBe(false);
    expect(names('qwen2')).toContain('model.layers.0.self_attn.v_proj.bias');
    expect(names('qwen2')).not.toContain('model.layers.0.self_attn.o_proj.bias');
    expect(parseConfig(JSON.stringify(makeTinyModel('qwen2').configJson))).toMatchObject({ arch: 'qwen2', tiedEmbeddings: true, nKvHeads: 2 });
    const wide = makeTinyModel('llama-wide-heads');
    expect(wide.tensors['model.layers.0.self_attn.q_proj.weight'].shape).toEqual([64, 32]);
    expect(wide.tensors['model.layers.0.mlp.down_proj.bias'].shape).toEqual([32]);
    const gpt2 = makeTinyModel('gpt2');
    expect(gpt2.tensors['transformer.h.1.attn.c_attn.weight'].shape).toEqual([32, 96]);
    expect(gpt2.tensors['transformer.h.1.mlp.c_proj.weight'].shape).toEqual([128, 32]);
    expect(parseConfig(JSON.stringify(gpt2.configJson))).toMatchObject({ arch: 'gpt2', act: 'gelu_new', intermediate: 128, tiedEmbeddings: true });
    const bench = parseConfig(JSON.stringify(makeTinyModel('bench-llama').configJson));
    expect(bench).toMatchObject({ nLayers: 4, hidden: 256, nHeads: 8, nKvHeads: 4, intermediate: 688, vocab: 2048 });
  });

  it('draw weights with the intended spread (Box–Muller over mulberry32)', () => {
    const w = makeTinyModel('bench-llama').tensors['model.layers.0.mlp.gate_proj.weight'].data;
    let s = 0;
    let s2 = 0;
    for (const x of w) (s += x), (s2 += x * x);
    expect(Math.abs(s / w.length)).toBeLessThan(1e-3);
    expect(Math.sqrt(s2 / w.length)).toBeCloseTo(0.02, 3);
  });

  it('write a reusable folder that loads back to the same model', () => {
    const root = mkdtempSync(join(tmpdir(), 'latentlab-fixture-test-'));
    try {
      const dir = writeTinyModel('qwen2', 7, root);
      expect(dir).toBe(join(root, 'qwen2-7'));
      const stamp = statSync(join(dir, 'model.safetensors')).mtimeMs;
      expect(writeTinyModel('qwen2', 7, root)).toBe(dir);
      expect(statSync(join(dir, 'model.safetensors')).mtimeMs).toBe(stamp);
      const fromDisk = referenceForward(loadRefModel(dir), [3, 1, 4]).logits;
      const tm = makeTinyModel('qwen2', 7);
      expect(Array.from(fromDisk)).toEqual(Array.from(referenceForward(refModel(tm.configJson, tm.tensors), [3, 1, 4]).logits));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------- reference

const tiny = (k: TinyKind, seed = 1): RefModel => {
  const m = makeTinyModel(k, seed);
  return refModel(m.configJson, m.tensors);
};
const readAll = (m: RefModel, ids: number[], extra: HookSpec[] = []) =>
  referenceForward(m, ids, [...extra, ...hookNames(m.config).map((name) => ({ name, op: 'read' as const }))]);
const IDS = [1, 17, 5, 42, 9, 33];
const MODELS: TinyKind[] = ['llama-gqa', 'llama-tied', 'llama-wide-heads', 'qwen2', 'gpt2'];

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** y = x·Wᵀ + b for one [T, in] activation, written independently of the reference. */
function matT(x: ArrayLike<number>, T: number, W: ArrayLike<number>, out: number, b?: ArrayLike<number>): number[] {
  const inDim = x.length / T;
  const y: number[] = [];
  for (let t = 0; t < T; t++) for (let o = 0; o < out; o++) {
    let s = b ? b[o] : 0;
    for (let i = 0; i < inDim; i++) s += x[t * inDim + i] * W[o * inDim + i];
    y.push(s);
  }
  return y;
}
const scaleRows = (x: ArrayLike<number>, w: ArrayLike<number>, b?: ArrayLike<number>) =>
  Array.from(x, (v, i) => v * w[i % w.length] + (b ? b[i % b.length] : 0));
const clone = (m: RefModel, cfg: Partial<ModelConfig> = {}): RefModel => ({
  config: { ...m.config, ...cfg },
  tensors: new Map([...m.tensors].map(([k, v]) => [k, v.slice()])),
  shapes: new Map(m.shapes),
});

describe('reference math', () => {
  it('erf and the activations agree with known values', () => {
    expect(erf(0)).toBe(0);
    expect(erf(0.5)).toBeCloseTo(0.5204998778130465, 14);
    expect(erf(1)).toBeCloseTo(0.8427007929497149, 14);
    expect(erf(-2)).toBeCloseTo(-0.9953222650189527, 14);
    expect(erf(3)).toBeCloseTo(0.9999779095030014, 14);
    expect(erf(5.5)).toBeCloseTo(1 - 7.357847917974398e-15, 15);
    expect(activate(1, 'gelu')).toBeCloseTo(0.8413447460685429, 14); // Φ(1)
    expect(activate(1, 'gelu_new')).toBeCloseTo(0.5 * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * 1.044715)), 15);
    expect(activate(2, 'silu')).toBeCloseTo(2 / (1 + Math.exp(-2)), 15);
    expect(activate(1, 'quick_gelu')).toBeCloseTo(1 / (1 + Math.exp(-1.702)), 15);
  });

  it('matches a one-layer, hidden-2 Llama worked out by hand', () => {
    // Embeddings [1,1] and [2,−2] both RMS-normalise to unit entries; identity q/k/v/o; eps 0; rotary angle pos·1.
    const I2 = new Float64Array([1, 0, 0, 1]);
    const t = (shape: number[], data: number[]) => ({ shape, data: new Float64Array(data) });
    const m = refModel(
      { architectures: ['LlamaForCausalLM'], hidden_size: 2, intermediate_size: 1, num_hidden_layers: 1, num_attention_heads: 1, num_key_value_heads: 1, vocab_size: 2, rms_norm_eps: 0, tie_word_embeddings: true },
      {
        'model.embed_tokens.weight': t([2, 2], [1, 1, 2, -2]),
        'model.layers.0.input_layernorm.weight': t([2], [1, 1]),
        'model.layers.0.self_attn.q_proj.weight': { shape: [2, 2], data: I2 },
        'model.layers.0.self_attn.k_proj.weight': { shape: [2, 2], data: I2 },
        'model.layers.0.self_attn.v_proj.weight': { shape: [2, 2], data: I2 },
        'model.layers.0.self_attn.o_proj.weight': { shape: [2, 2], data: I2 },
        'model.layers.0.post_attention_layernorm.weight': t([2], [1, 1]),
        'model.layers.0.mlp.gate_proj.weight': t([1, 2], [1, 0]),
        'model.layers.0.mlp.up_proj.weight': t([1, 2], [0, 1]),
        'model.layers.0.mlp.down_proj.weight': t([2, 1], [1, 0]),
        'model.norm.weight': t([2], [1, 1]),
      },
    );
    const { cache, logits } = referenceForward(m, [0, 1], ['blocks.0.attn.hook_attn_scores', 'blocks.0.attn.hook_pattern', 'blocks.0.hook_resid_post'].map((name) => ({ name, op: 'read' as const })));
    const S2 = Math.SQRT2;
    const sin1 = Math.sin(1);
    // q1 = k1 = [1, −1] rotated by 1 rad: [cos1 + sin1, sin1 − cos1]; q1·k0 = 2 sin1, q1·k1 = 2; scale 1/√2.
    expect(Array.from(cache.get('blocks.0.attn.hook_attn_scores')!)).toEqual([expect.closeTo(S2, 14), -Infinity, expect.closeTo(S2 * sin1, 14), expect.closeTo(S2, 14)]);
    const p0 = 1 / (1 + Math.exp(S2 - S2 * sin1));
    expect(maxDiff(cache.get('blocks.0.attn.hook_pattern')!, [1, 0, p0, 1 - p0])).toBeLessThan(1e-15);
    // Position 0: mid [2,2] → ln2 [1,1] → silu(1)·1. Position 1: mid = [2,−2] + [1, 2p0−1] = [3, 2p0−3].
    const s = 1 / (1 + Math.exp(-1));
    const m1 = [3, 2 * p0 - 3];
    const r1 = Math.sqrt((m1[0] ** 2 + m1[1] ** 2) / 2);
    const post1 = (m1[0] / r1) / (1 + Math.exp(-m1[0] / r1)) * (m1[1] / r1);
    const resid = [2 + s, 2, 3 + post1, m1[1]];
    expect(maxDiff(cache.get('blocks.0.hook_resid_post')!, resid)).toBeLessThan(1e-14);
    const want: number[] = [];
    for (const r of [resid.slice(0, 2), resid.slice(2)]) {
      const rms = Math.sqrt((r[0] ** 2 + r[1] ** 2) / 2);
      want.push((r[0] + r[1]) / rms, (2 * r[0] - 2 * r[1]) / rms); // tied: logits = n · [1,1] and n · [2,−2]
    }
    expect(maxDiff(logits, want)).toBeLessThan(1e-14);
  });

  it('breaks greedy ties toward the lowest token id', () => {
    const m = tiny('llama-tied');
    const e = m.tensors.get('model.embed_tokens.weight')!;
    const D = m.config.hidden;
    e.copyWithin(6 * D, 5 * D, 6 * D); // tokens 5 and 6 share an embedding row, so their (tied) logits tie exactly
    const row = referenceForward(m, [1]).logits;
    expect(row[5]).toBe(row[6]);
    // Make 5/6 the top logit by aligning their row with the final hidden direction, then check 5 wins.
    const h = readAll(m, [1]).cache.get('ln_final.hook_normalized')!;
    const w = m.tensors.get('model.norm.weight')!;
    for (const tok of [5, 6]) for (let d = 0; d < D; d++) e[tok * D + d] = 3 * h[d] * w[d];
    expect(referenceGreedy(m, [1], 1)).toEqual([5]);
  });
});

describe('reference hook points', () => {
  for (const kind of MODELS) {
    it(`${kind}: produces every hook point with its documented shape, and residual identities hold`, () => {
      const m = tiny(kind);
      const T = IDS.length;
      const { cache, logits } = readAll(m, IDS);
      expect([...cache.keys()].sort()).toEqual(hookNames(m.config).sort());
      for (const name of hookNames(m.config)) {
        expect(cache.get(name)!.length, name).toBe(hookShape(m.config, name, T).dims.reduce((a, d) => a * d, 1));
      }
      const g = (n: string) => cache.get(n)!;
      const sum = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a, (v, i) => v + b[i]);
      expect(maxDiff(g('blocks.0.hook_resid_pre'), kind === 'gpt2' ? sum(g('hook_embed'), g('hook_pos_embed')) : g('hook_embed'))).toBe(0);
      for (let l = 0; l < m.config.nLayers; l++) {
        const b = `blocks.${l}.`;
        expect(maxDiff(g(b + 'hook_resid_mid'), sum(g(b + 'hook_resid_pre'), g(b + 'hook_attn_out')))).toBeLessThan(1e-15);
        expect(maxDiff(g(b + 'hook_resid_post'), sum(g(b + 'hook_resid_mid'), g(b + 'hook_mlp_out')))).toBeLessThan(1e-15);
        if (l + 1 < m.config.nLayers) expect(maxDiff(g(`blocks.${l + 1}.hook_resid_pre`), g(b + 'hook_resid_post'))).toBe(0);
        const scores = g(b + 'attn.hook_attn_scores');
        const pattern = g(b + 'attn.hook_pattern');
        for (let r = 0; r < m.config.nHeads * T; r++) {
          const q = r % T;
          let rowSum = 0;
          for (let k = 0; k < T; k++) {
            rowSum += pattern[r * T + k];
            if (k > q) {
              expect(scores[r * T + k]).toBe(-Infinity);
              expect(pattern[r * T + k]).toBe(0);
            } else expect(pattern[r * T + k]).toBeGreaterThan(0);
          }
          expect(rowSum).toBeCloseTo(1, 14);
        }
        // Norm output before its weight: mean square var/(var + eps) of its input (zero mean too for LayerNorm).
        const n1 = g(b + 'ln1.hook_normalized');
        const x = g(b + 'hook_resid_pre');
        const D = m.config.hidden;
        const meanOf = (r: ArrayLike<number>, f: (v: number) => number) => Array.from(r).reduce((a, v) => a + f(v), 0) / D;
        for (let t = 0; t < T; t++) {
          const row = n1.subarray(t * D, (t + 1) * D);
          const xr = x.subarray(t * D, (t + 1) * D);
          const mu = kind === 'gpt2' ? meanOf(xr, (v) => v) : 0;
          const variance = meanOf(xr, (v) => (v - mu) ** 2);
          if (kind === 'gpt2') expect(Math.abs(meanOf(row, (v) => v))).toBeLessThan(1e-14);
          expect(meanOf(row, (v) => v * v)).toBeCloseTo(variance / (variance + m.config.normEps), 13);
        }
        const post = g(b + 'mlp.hook_post');
        const pre = g(b + 'mlp.hook_pre');
        const expectPost = m.config.gatedMlp ? Array.from(pre, (v, i) => activate(v, 'silu') * g(b + 'mlp.hook_pre_linear')[i]) : Array.from(pre, (v) => activate(v, 'gelu_new'));
        expect(maxDiff(post, expectPost)).toBeLessThan(1e-15);
      }
      // Logits are large enough to matter: the fixture is meant to rank tokens decisively.
      const rms = Math.sqrt(logits.reduce((a, v) => a + v * v, 0) / logits.length);
      expect(rms).toBeGreaterThan(0.3);
    });
  }

  it('llama-gqa: projections are x·Wᵀ + b, z = pattern·v with GQA sharing, attn_out = o_proj(z)', () => {
    const m = tiny('llama-gqa');
    const { nHeads: H, nKvHeads: Hkv, headDim: dh, hidden: D } = m.config;
    const T = IDS.length;
    const { cache } = readAll(m, IDS);
    const g = (n: string) => cache.get(n)!;
    const P = (n: string) => m.tensors.get(n)!;
    const x = scaleRows(g('blocks.1.ln1.hook_normalized'), P('model.layers.1.input_layernorm.weight'));
    for (const [hook, proj, rows] of [['q', 'q', H * dh], ['k', 'k', Hkv * dh], ['v', 'v', Hkv * dh]] as const) {
      const want = matT(x, T, P(`model.layers.1.self_attn.${proj}_proj.weight`), rows, P(`model.layers.1.self_attn.${proj}_proj.bias`));
      expect(maxDiff(g(`blocks.1.attn.hook_${hook}`), want)).toBeLessThan(1e-12);
    }
    const pattern = g('blocks.1.attn.hook_pattern');
    const v = g('blocks.1.attn.hook_v');
    const z = g('blocks.1.attn.hook_z');
    for (let h = 0; h < H; h++) for (let t = 0; t < T; t++) for (let d = 0; d < dh; d++) {
      let s = 0;
      for (let k = 0; k <= t; k++) s += pattern[(h * T + t) * T + k] * v[(k * Hkv + Math.floor(h / 2)) * dh + d];
      expect(z[(t * H + h) * dh + d]).toBeCloseTo(s, 13);
    }
    expect(maxDiff(g('blocks.1.hook_attn_out'), matT(z, T, P('model.layers.1.self_attn.o_proj.weight'), D, P('model.layers.1.self_attn.o_proj.bias')))).toBeLessThan(1e-12);
    const xf = scaleRows(g('ln_final.hook_normalized'), P('model.norm.weight'));
    expect(maxDiff(readAll(m, IDS).logits, matT(xf, T, P('lm_head.weight'), m.config.vocab))).toBeLessThan(1e-12);
  });

  it('llama-gqa: scores are rotate-half rotary of q and k with llama3-scaled frequencies', () => {
    const m = tiny('llama-gqa');
    const { nHeads: H, nKvHeads: Hkv, headDim: dh } = m.config;
    const inv = ropeInvFreq(m.config);
    const plain = Array.from({ length: dh / 2 }, (_, i) => 1 / 500000 ** ((2 * i) / dh));
    for (let i = 0; i < dh / 2; i++) expect(Math.abs(inv[i] - plain[i]) / plain[i]).toBeGreaterThan(0.1); // scaling is exercised
    const T = 20; // past original_max_position_embeddings (16)
    const ids = Array.from({ length: T }, (_, i) => (i * 7 + 3) % 64);
    const { cache } = readAll(m, ids);
    const rot = (x: Float64Array, heads: number, t: number, h: number) => {
      const v = x.subarray((t * heads + h) * dh, (t * heads + h + 1) * dh);
      const out = new Array(dh);
      for (let i = 0; i < dh / 2; i++) {
        const [c, s] = [Math.cos(t * inv[i]), Math.sin(t * inv[i])];
        out[i] = v[i] * c - v[i + dh / 2] * s;
        out[i + dh / 2] = v[i + dh / 2] * c + v[i] * s;
      }
      return out;
    };
    const q = cache.get('blocks.0.attn.hook_q')!;
    const k = cache.get('blocks.0.attn.hook_k')!;
    const scores = cache.get('blocks.0.attn.hook_attn_scores')!;
    for (let h = 0; h < H; h++) for (let t = 0; t < T; t++) for (let s = 0; s <= t; s++) {
      const qr = rot(q, H, t, h);
      const kr = rot(k, Hkv, s, Math.floor(h / (H / Hkv)));
      const dot = qr.reduce((a, v, i) => a + v * kr[i], 0) / Math.sqrt(dh);
      expect(scores[(h * T + t) * T + s]).toBeCloseTo(dot, 12);
    }
  });

  it('gpt2: Conv1D weights are [in, out] (y = x·W + b) and c_attn splits into q | k | v', () => {
    const m = tiny('gpt2');
    const D = m.config.hidden;
    const T = IDS.length;
    const { cache } = readAll(m, IDS);
    const P = (n: string) => m.tensors.get(n)!;
    const x = scaleRows(cache.get('blocks.0.ln1.hook_normalized')!, P('transformer.h.0.ln_1.weight'), P('transformer.h.0.ln_1.bias'));
    const W = P('transformer.h.0.attn.c_attn.weight');
    const b = P('transformer.h.0.attn.c_attn.bias');
    ['q', 'k', 'v'].forEach((name, j) => {
      const want: number[] = [];
      for (let t = 0; t < T; t++) for (let o = 0; o < D; o++) {
        let s = b[j * D + o];
        for (let i = 0; i < D; i++) s += x[t * D + i] * W[i * 3 * D + j * D + o];
        want.push(s);
      }
      expect(maxDiff(cache.get(`blocks.0.attn.hook_${name}`)!, want)).toBeLessThan(1e-12);
    });
    const x2 = scaleRows(cache.get('blocks.0.ln2.hook_normalized')!, P('transformer.h.0.ln_2.weight'), P('transformer.h.0.ln_2.bias'));
    const fc = P('transformer.h.0.mlp.c_fc.weight');
    const pre = cache.get('blocks.0.mlp.hook_pre')!;
    const t = 2;
    const o = 77;
    let s = P('transformer.h.0.mlp.c_fc.bias')[o];
    for (let i = 0; i < D; i++) s += x2[t * D + i] * fc[i * 4 * D + o];
    expect(pre[t * 4 * D + o]).toBeCloseTo(s, 12);
    expect(cache.get('hook_pos_embed')!.subarray(D, 2 * D)).toEqual(Float64Array.from(P('transformer.wpe.weight').subarray(D, 2 * D)));
  });

  it('gpt2 with exact gelu and quick_gelu uses those activations', () => {
    for (const act of ['gelu', 'quick_gelu'] as const) {
      const m = clone(tiny('gpt2'), { act });
      const { cache } = readAll(m, IDS);
      const want = Array.from(cache.get('blocks.1.mlp.hook_pre')!, (v) => activate(v, act));
      expect(maxDiff(cache.get('blocks.1.mlp.hook_post')!, want)).toBeLessThan(1e-15);
    }
    expect(activate(0.7, 'gelu')).not.toBeCloseTo(activate(0.7, 'gelu_new'), 6);
  });

  it('is causal: a prefix gives the same logits as the first rows of a longer run', () => {
    for (const kind of MODELS) {
      const m = tiny(kind);
      const V = m.config.vocab;
      const long = referenceForward(m, IDS).logits;
      const short = referenceForward(m, IDS.slice(0, 3)).logits;
      expect(maxDiff(short, long.subarray(0, 3 * V)), kind).toBeLessThan(1e-12);
    }
  });
});

describe('reference hook edits', () => {
  const m = tiny('llama-gqa');
  const { nHeads: H, nKvHeads: Hkv, headDim: dh, hidden: D } = m.config;
  const T = IDS.length;
  const base = readAll(m, IDS);
  const run = (hooks: HookSpec[]) => referenceForward(m, IDS, hooks);

  it('zero-ablating attn_out equals zeroing the o_proj weight and bias', () => {
    const z = clone(m);
    z.tensors.get('model.layers.0.self_attn.o_proj.weight')!.fill(0);
    z.tensors.get('model.layers.0.self_attn.o_proj.bias')!.fill(0);
    const ablated = run([{ name: 'blocks.0.hook_attn_out', op: 'zero' }]).logits;
    expect(maxDiff(ablated, referenceForward(z, IDS).logits)).toBe(0);
    expect(maxDiff(ablated, base.logits)).toBeGreaterThan(0.05);
  });

  it('zeroing one head of z equals zeroing that head’s o_proj columns', () => {
    const z = clone(m);
    const W = z.tensors.get('model.layers.1.self_attn.o_proj.weight')!;
    for (let o = 0; o < D; o++) W.fill(0, o * H * dh + 2 * dh, o * H * dh + 3 * dh);
    const edited = run([{ name: 'blocks.1.attn.hook_z', op: 'zero', heads: [2] }]).logits;
    expect(maxDiff(edited, referenceForward(z, IDS).logits)).toBeLessThan(1e-14);
    expect(maxDiff(edited, base.logits)).toBeGreaterThan(0.01);
  });

  it('GQA equals MHA with each KV head repeated for its query group', () => {
    const mha = clone(m, { nKvHeads: H });
    for (let l = 0; l < m.config.nLayers; l++) {
      for (const p of ['k', 'v']) {
        const w = m.tensors.get(`model.layers.${l}.self_attn.${p}_proj.weight`)!;
        const b = m.tensors.get(`model.layers.${l}.self_attn.${p}_proj.bias`)!;
        const w2 = new Float64Array(H * dh * D);
        const b2 = new Float64Array(H * dh);
        for (let h = 0; h < H; h++) {
          const kv = Math.floor(h / (H / Hkv));
          w2.set(w.subarray(kv * dh * D, (kv + 1) * dh * D), h * dh * D);
          b2.set(b.subarray(kv * dh, (kv + 1) * dh), h * dh);
        }
        mha.tensors.set(`model.layers.${l}.self_attn.${p}_proj.weight`, w2);
        mha.shapes.set(`model.layers.${l}.self_attn.${p}_proj.weight`, [H * dh, D]);
        mha.tensors.set(`model.layers.${l}.self_attn.${p}_proj.bias`, b2);
        mha.shapes.set(`model.layers.${l}.self_attn.${p}_proj.bias`, [H * dh]);
      }
    }
    const out = readAll(mha, IDS);
    expect(maxDiff(out.logits, base.logits)).toBeLessThan(1e-12);
    expect(maxDiff(out.cache.get('blocks.1.attn.hook_pattern')!, base.cache.get('blocks.1.attn.hook_pattern')!)).toBeLessThan(1e-14);
  });

  it('tied embeddings equal an untied head holding a copy of the embedding', () => {
    const tied = tiny('llama-tied');
    const untied = clone(tied, { tiedEmbeddings: false });
    untied.tensors.set('lm_head.weight', tied.tensors.get('model.embed_tokens.weight')!.slice());
    untied.shapes.set('lm_head.weight', tied.shapes.get('model.embed_tokens.weight')!);
    expect(maxDiff(referenceForward(untied, IDS).logits, referenceForward(tied, IDS).logits)).toBe(0);
    expect(() => referenceForward(clone(tied, { tiedEmbeddings: false }), IDS)).toThrow(/missing tensor "lm_head.weight"/);
  });

  it('restricts edits to the given positions, and later positions alone see them', () => {
    const steer = Array.from({ length: D }, (_, i) => Math.cos(i));
    const { logits, cache } = run([
      { name: 'blocks.0.hook_resid_pre', op: 'add', value: steer, coeff: 2, positions: [2] },
      { name: 'blocks.0.hook_resid_pre', op: 'read' },
    ]);
    const r = cache.get('blocks.0.hook_resid_pre')!;
    const r0 = base.cache.get('blocks.0.hook_resid_pre')!;
    for (let t = 0; t < T; t++) for (let d = 0; d < D; d++) expect(r[t * D + d]).toBeCloseTo(r0[t * D + d] + (t === 2 ? 2 * steer[d] : 0), 14);
    const V = m.config.vocab;
    expect(maxDiff(logits.subarray(0, 2 * V), base.logits.subarray(0, 2 * V))).toBe(0);
    expect(maxDiff(logits.subarray(2 * V), base.logits.subarray(2 * V))).toBeGreaterThan(0.01);
  });

  it('applies edits in list order, reads seeing earlier edits, and full-size values per element', () => {
    const full = Array.from({ length: T * D }, (_, i) => Math.sin(i));
    const { cache } = run([
      { name: 'hook_embed', op: 'read' },
      { name: 'blocks.0.hook_mlp_out', op: 'replace', value: full },
      { name: 'blocks.0.hook_mlp_out', op: 'add', value: full, coeff: -0.5 },
      { name: 'blocks.0.hook_mlp_out', op: 'read' },
      { name: 'blocks.0.hook_mlp_out', op: 'zero', positions: [0] },
      { name: 'blocks.0.hook_resid_post', op: 'read' },
    ]);
    expect(maxDiff(cache.get('hook_embed')!, base.cache.get('hook_embed')!)).toBe(0);
    expect(maxDiff(cache.get('blocks.0.hook_mlp_out')!, full.map((v) => v / 2))).toBeLessThan(1e-15);
    const mid = base.cache.get('blocks.0.hook_resid_mid')!;
    expect(maxDiff(cache.get('blocks.0.hook_resid_post')!, Array.from(mid, (v, i) => v + (i < D ? 0 : full[i] / 2)))).toBeLessThan(1e-15);
  });

  it('mean-ablation replaces with the given mean; add scales by coeff', () => {
    const mean = Array.from({ length: 48 }, (_, i) => i / 48 - 0.5);
    const a = run([{ name: 'blocks.1.mlp.hook_post', op: 'mean', value: mean, positions: [1, 4] }]).logits;
    const b = run([{ name: 'blocks.1.mlp.hook_post', op: 'replace', value: mean, positions: [1, 4] }]).logits;
    expect(maxDiff(a, b)).toBe(0);
    const c = run([{ name: 'blocks.1.hook_resid_mid', op: 'add', value: mean.slice(0, D), coeff: 3 }]).logits;
    const d = run([{ name: 'blocks.1.hook_resid_mid', op: 'add', value: mean.slice(0, D).map((v) => 3 * v) }]).logits;
    expect(maxDiff(c, d)).toBeLessThan(1e-13);
  });

  it('edits q before rotary: zero q gives uniform causal attention', () => {
    const { cache } = run([{ name: 'blocks.0.attn.hook_q', op: 'zero' }, { name: 'blocks.0.attn.hook_pattern', op: 'read' }]);
    const p = cache.get('blocks.0.attn.hook_pattern')!;
    for (let h = 0; h < H; h++) for (let t = 0; t < T; t++) for (let k = 0; k < T; k++) expect(p[(h * T + t) * T + k]).toBeCloseTo(k <= t ? 1 / (t + 1) : 0, 15);
  });

  it('edits k before rotary: a constant k still gets position-dependent scores', () => {
    const c = Array.from({ length: Hkv * dh }, (_, i) => 0.3 * ((i % 5) - 2));
    const { cache } = run([
      { name: 'blocks.0.attn.hook_k', op: 'replace', value: c },
      { name: 'blocks.0.attn.hook_k', op: 'read' },
      { name: 'blocks.0.attn.hook_attn_scores', op: 'read' },
    ]);
    expect(maxDiff(cache.get('blocks.0.attn.hook_k')!, Array.from({ length: T }, () => c).flat())).toBe(0);
    const s = cache.get('blocks.0.attn.hook_attn_scores')!;
    // Query at the last position against keys 0 and 1: same pre-rotary k, different rotation → different score.
    expect(Math.abs(s[(T - 1) * T + 0] - s[(T - 1) * T + 1])).toBeGreaterThan(1e-3);
  });

  it('edits scores before the softmax and pattern before it multiplies v', () => {
    const bump = Array.from({ length: T }, (_, k) => (k === 1 ? 2 : 0));
    const { cache } = run([
      { name: 'blocks.1.attn.hook_attn_scores', op: 'add', value: bump, positions: [T - 1], heads: [3] },
      { name: 'blocks.1.attn.hook_pattern', op: 'read' },
    ]);
    const s0 = base.cache.get('blocks.1.attn.hook_attn_scores')!;
    const p = cache.get('blocks.1.attn.hook_pattern')!;
    const p0 = base.cache.get('blocks.1.attn.hook_pattern')!;
    const row = (h: number, t: number) => (h * T + t) * T;
    const edited = Array.from(s0.subarray(row(3, T - 1), row(3, T - 1) + T), (v, k) => v + bump[k]);
    const e = edited.map((v) => Math.exp(v - Math.max(...edited)));
    const sum = e.reduce((a, v) => a + v, 0);
    expect(maxDiff(p.subarray(row(3, T - 1), row(3, T - 1) + T), e.map((v) => v / sum))).toBeLessThan(1e-15);
    expect(maxDiff(p.subarray(0, row(3, T - 1)), p0.subarray(0, row(3, T - 1)))).toBe(0);

    // One-hot pattern on key 0 for every row: z at every position is v at position 0.
    const onehot = Array.from({ length: T }, (_, k) => (k === 0 ? 1 : 0));
    const out = run([{ name: 'blocks.0.attn.hook_pattern', op: 'replace', value: onehot }, { name: 'blocks.0.attn.hook_z', op: 'read' }]);
    const v = base.cache.get('blocks.0.attn.hook_v')!;
    const z = out.cache.get('blocks.0.attn.hook_z')!;
    for (let t = 0; t < T; t++) for (let h = 0; h < H; h++) for (let d = 0; d < dh; d++) expect(z[(t * H + h) * dh + d]).toBe(v[Math.floor(h / 2) * dh + d]);
  });

  it('an edit on embeddings changes resid_pre of block 0 (GPT-2: token and position parts)', () => {
    const g = tiny('gpt2');
    const { cache } = referenceForward(g, IDS, [
      { name: 'hook_embed', op: 'zero' },
      { name: 'blocks.0.hook_resid_pre', op: 'read' },
      { name: 'hook_pos_embed', op: 'read' },
    ]);
    expect(maxDiff(cache.get('blocks.0.hook_resid_pre')!, cache.get('hook_pos_embed')!)).toBe(0);
  });

  it('rejects bad hook names, value sizes, positions and heads', () => {
    const bad: [HookSpec, RegExp][] = [
      [{ name: 'blocks.2.hook_resid_pre', op: 'read' }, /unknown hook point "blocks\.2\.hook_resid_pre"/],
      [{ name: 'hook_pos_embed', op: 'read' }, /unknown hook point "hook_pos_embed"/],
      [{ name: 'blocks.0.attn.hook_nope', op: 'zero' }, /unknown hook point/],
      [{ name: 'hook_resid_pre', op: 'read' }, /unknown hook point "hook_resid_pre"/],
      [{ name: 'attn.hook_pattern', op: 'zero' }, /unknown hook point "attn\.hook_pattern"/],
      [{ name: 'blocks.0.hook_resid_pre', op: 'add', value: [1, 2, 3] }, /value has 3 numbers; want 32 \(one row\) or 192 \(full\)/],
      [{ name: 'blocks.0.attn.hook_pattern', op: 'replace', value: new Array(D).fill(0) }, /want 6 \(one row\) or 144 \(full\)/],
      [{ name: 'blocks.0.hook_resid_pre', op: 'zero', positions: [T] }, /position 6 is outside 0\.\.5/],
      [{ name: 'blocks.0.attn.hook_k', op: 'zero', heads: [2] }, /head 2 is outside 0\.\.1/],
      [{ name: 'blocks.0.hook_resid_pre', op: 'zero', heads: [0] }, /"heads" applies only to per-head/],
    ];
    for (const [spec, msg] of bad) expect(() => run([spec]), spec.name).toThrow(msg);
    expect(() => referenceForward(tiny('gpt2'), [1], [{ name: 'blocks.0.mlp.hook_pre_linear', op: 'read' }])).toThrow(/unknown hook point/);
    expect(() => referenceForward(m, [64])).toThrow(/token id 64 is outside 0\.\.63/);
  });
});

// ---------------------------------------------------------------- a real checkpoint

// The checkout's parent folder holds shared/ (in CI too): <repo>/../shared/models/stories260K.
const STORIES = fileURLToPath(new URL('../../shared/models/stories260K', import.meta.url));

// Greedy continuation of [BOS=1], 30 tokens, from this reference (float64). The engine's f32 greedy should match it.
const STORIES_GREEDY = [461, 461, 401, 401, 401, 461, 378, 455, 473, 456, 435, 299, 362, 409, 283, 264, 283, 452, 288, 13, 431, 431, 431, 431, 431, 431, 431, 431, 431, 431];

describe('stories260K (real TinyStories Llama checkpoint)', () => {
  it('loads and gives a fixed, varied greedy continuation of [1]', () => {
    expect(existsSync(STORIES), `${STORIES} is missing: the repository's parent folder should hold shared/`).toBe(true);
    const m = loadRefModel(STORIES);
    expect(m.config).toMatchObject({ arch: 'llama', hidden: 64, nLayers: 5, nHeads: 8, nKvHeads: 4, vocab: 512, tiedEmbeddings: true });
    const ids = referenceGreedy(m, [1], 30);
    console.log(`stories260K greedy from [1]: ${JSON.stringify(ids)}`);
    expect(new Set(ids).size).toBeGreaterThanOrEqual(10);
    expect(ids).toEqual(STORIES_GREEDY);
  });
});
