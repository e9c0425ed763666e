// Files the Explore page reads and writes: steering vectors (JSON, .npy) and run-history exports.
import { describe, expect, it } from 'vitest';
import { parseVectorFile, toNpy } from '../src/methods/explore/vector-file';
import { parseRunsJson, runsToJson, type RunRecord } from '../src/ui/state/runs';
import { toCsv } from '../src/ui/state/exports';

/** A .npy file as NumPy 1.x writes it (version 1.0 header padded to 64 bytes). */
function npy(descr: string, shape: string, data: ArrayBufferView, version = 1): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const pre = version === 1 ? 10 : 12;
  header += ' '.repeat((64 - ((pre + header.length + 1) % 64)) % 64) + '\n';
  const out = new Uint8Array(pre + header.length + data.byteLength);
  out.set([0x93, 78, 85, 77, 80, 89, version, 0]);
  const dv = new DataView(out.buffer);
  if (version === 1) dv.setUint16(8, header.length, true);
  else dv.setUint32(8, header.length, true);
  out.set(new TextEncoder().encode(header), pre);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), pre + header.length);
  return out;
}

describe('steering vector files', () => {
  const v = Float32Array.from([0.5, -1.25, 3, 1e-3]);

  it('reads float32 and float64 .npy of shape (D,) and (1, D), versions 1 and 2', () => {
    expect(Array.from(parseVectorFile('a.npy', npy('<f4', '(4,)', v), 4).vector)).toEqual(Array.from(v));
    expect(Array.from(parseVectorFile('b.npy', npy('<f8', '(1, 4)', Float64Array.from(v)), 4).vector)).toEqual(Array.from(v));
    expect(Array.from(parseVectorFile('c.npy', npy('<f4', '(4,)', v, 2), 4).vector)).toEqual(Array.from(v));
  });

  it('round-trips its own .npy export', () => {
    const bytes = toNpy(v);
    expect((10 + new DataView(bytes.buffer).getUint16(8, true)) % 64).toBe(0);
    expect(Array.from(parseVectorFile('v.npy', bytes, 4).vector)).toEqual(Array.from(v));
  });

  it('reads JSON arrays and {hook, vector} objects', () => {
    const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
    expect(Array.from(parseVectorFile('a.json', enc([1, 2, 3, 4]), 4).vector)).toEqual([1, 2, 3, 4]);
    const got = parseVectorFile('b.json', enc({ hook: 'blocks.1.hook_resid_pre', vector: [1, 2, 3, 4] }), 4);
    expect(got.hook).toBe('blocks.1.hook_resid_pre');
  });

  it('names what is wrong', () => {
    const enc = (s: string) => new TextEncoder().encode(s);
    expect(() => parseVectorFile('a.json', enc('[1, 2]'), 4)).toThrow(/a\.json: the vector has 2 entries; this model's residual stream has 4/);
    expect(() => parseVectorFile('a.json', enc('{"x": 1}'), 4)).toThrow(/array of numbers/);
    expect(() => parseVectorFile('a.txt', enc('hello'), 4)).toThrow(/neither JSON nor a \.npy/);
    expect(() => parseVectorFile('i.npy', npy('<i4', '(4,)', Int32Array.from([1, 2, 3, 4])), 4)).toThrow(/dtype <i4 is not supported/);
    expect(() => parseVectorFile('m.npy', npy('<f4', '(2, 2)', v), 4)).toThrow(/expected a vector, got shape \(2, 2\)/);
    expect(() => parseVectorFile('s.npy', npy('<f4', '(8,)', v), 8)).toThrow(/shorter than its header/);
  });
});

describe('run history export', () => {
  const run: RunRecord = {
    id: 'run-1',
    kind: 'patching',
    name: 'p',
    model: 'tiny',
    createdAt: 1700000000000,
    inputs: { clean: 'a b', corrupt: 'a c' },
    result: { values: Float32Array.from([0.5, NaN, 1]), nested: { pattern: Float32Array.from([1, 0]) } },
  };

  it('writes typed arrays as arrays (NaN as null) and reads its own export back with fresh ids', () => {
    const text = runsToJson([run]);
    const j = JSON.parse(text);
    expect(j.format).toBe('latentlab-runs');
    expect(j.runs[0].result.values).toEqual([0.5, null, 1]);
    const back = parseRunsJson(text);
    expect(back).toHaveLength(1);
    expect(back[0]).toMatchObject({ kind: 'patching', name: 'p', model: 'tiny', createdAt: 1700000000000, inputs: run.inputs });
    expect(back[0].id).not.toBe('run-1');
    // A single run object (not wrapped) is accepted too.
    expect(parseRunsJson(JSON.stringify(j.runs[0]))[0].kind).toBe('patching');
  });

  it('refuses files that are not runs', () => {
    expect(() => parseRunsJson('nope')).toThrow(/not JSON/);
    expect(() => parseRunsJson('{"kind": "other", "name": "x", "result": 1}')).toThrow(/entry 1 is not a LatentLab run/);
  });

  it('CSV through papaparse quotes text with commas and quotes', () => {
    expect(toCsv([{ a: 'x, y', b: 'say "hi"', c: 1, d: null }])).toBe('a,b,c,d\n"x, y","say ""hi""",1,');
  });
});
