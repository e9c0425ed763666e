// CPU-only checks of the safetensors module, the tiny-model fixtures and the float64 reference forward.
import { describe, expect, it } from 'vitest';
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
