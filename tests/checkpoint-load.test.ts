// Training checkpoints at load: damaged metadata, non-finite values and a checkpoint of another model are
// refused by name rather than resumed into a run that trains on NaN or a shuffled cursor.
import { describe, expect, test } from 'vitest';
import { nodeGpu } from '../src/gpu/node';
import { Model } from '../src/engine/model';
import { folderFiles } from '../src/engine/files-node';
import { FinetuneRun, type FinetuneSettings } from '../src/engine/finetune';
import { decodeCheckpoint, encodeCheckpoint, type TrainState } from '../src/engine/checkpoint';
import { parseSafetensors, tensorToFloat32, writeSafetensors } from '../src/engine/safetensors';
import { writeTinyModel } from './fixtures/tiny-models';

const good = (): TrainState => ({
  step: 3,
  cursor: { epoch: 0, index: 1 },
  settings: { seed: 1 },
  tensors: [{ name: 'x.lora_A', value: Float32Array.of(1, 2, 3), m1: Float32Array.of(0.1, 0.2, 0.3), m2: Float32Array.of(1, 1, 1) }],
});

/** The checkpoint's bytes rewritten with edited metadata and tensors. */
function rewrite(bytes: Uint8Array, edit: (meta: Record<string, string>, t: Record<string, Float32Array>) => void): Uint8Array {
  const st = parseSafetensors(bytes);
  const t: Record<string, Float32Array> = Object.fromEntries([...st.tensors].map(([n, info]) => [n, tensorToFloat32(bytes, info, st.dataOffset)]));
  const meta = { ...st.metadata };
  edit(meta, t);
  return writeSafetensors(Object.fromEntries(Object.entries(t).map(([n, data]) => [n, { dtype: 'F32' as const, shape: [data.length], data }])), meta);
}

describe('checkpoint loading', () => {
  test('a good checkpoint round-trips', () => {
    const s = decodeCheckpoint(encodeCheckpoint(good()));
    expect(s.step).toBe(3);
    expect(s.cursor).toEqual({ epoch: 0, index: 1 });
    expect(Array.from(s.tensors[0].m1)).toEqual(Array.from(Float32Array.of(0.1, 0.2, 0.3)));
  });

  test.each([
    ['a missing cursor', (m: Record<string, string>) => void delete m.cursor, /ckpt: metadata "cursor" is missing; the checkpoint is damaged or was not written by LatentLab/],
    ['a cursor of the wrong shape', (m: Record<string, string>) => void (m.cursor = '{"epoch": -1}'), /metadata "cursor" is \{"epoch":-1\}; it must be the data order's position/],
    ['a step that is not a number', (m: Record<string, string>) => void (m.step = 'ten'), /metadata "step" is not valid JSON: ten/],
    ['a fractional step', (m: Record<string, string>) => void (m.step = '2.5'), /metadata "step" is 2\.5; it must be a non-negative integer/],
    ['settings that are not JSON', (m: Record<string, string>) => void (m.settings = '{oops'), /metadata "settings" is not valid JSON/],
    ['a NaN value', (_: unknown, t: Record<string, Float32Array>) => void (t['x.lora_A'][1] = NaN), /tensor x\.lora_A holds NaN at index 1; the checkpoint is not usable/],
    ['an infinite moment', (_: unknown, t: Record<string, Float32Array>) => void (t['x.lora_A::m2'][2] = Infinity), /tensor x\.lora_A::m2 holds Infinity at index 2/],
    ['a moment of another length', (_: unknown, t: Record<string, Float32Array>) => void (t['x.lora_A::m1'] = Float32Array.of(1)), /tensor x\.lora_A::m1 has 1 values but x\.lora_A has 3/],
    ['a missing moment', (_: unknown, t: Record<string, Float32Array>) => void delete t['x.lora_A::m2'], /tensor x\.lora_A::m2 is missing/],
  ] as [string, (m: Record<string, string>, t: Record<string, Float32Array>) => void, RegExp][])('%s is refused', (_, edit, msg) => {
    expect(() => decodeCheckpoint(rewrite(encodeCheckpoint(good()), edit), 'ckpt')).toThrow(msg);
  });

  test('a checkpoint of another model is named as such', async () => {
    const gpu = await nodeGpu();
    const settings: FinetuneSettings = { lora: { rank: 2, alpha: 4, targets: ['q_proj'] }, train: { lr: 1e-3 }, batchSize: 1, seed: 0 };
    const data = [{ ids: [1, 2, 3, 4], labels: [2, 3, 4, -1] }];
    const a = await Model.load(gpu, folderFiles(writeTinyModel('llama-gqa')), { dtype: 'f32' });
    const b = await Model.load(gpu, folderFiles(writeTinyModel('llama-wide-heads')), { dtype: 'f32' });
    const run = new FinetuneRun(a, data, settings);
    const bytes = await run.checkpoint();
    run.dispose();
    expect(() => FinetuneRun.resume(b, data, bytes)).toThrow(/the checkpoint does not fit this model: it has \d+ values for model\.layers\.0\.self_attn\.q_proj\.lora_[AB], this run \d+ \(it was saved from another model, or with another LoRA rank or targets\)/);
    a.dispose();
    b.dispose();
  });
});
