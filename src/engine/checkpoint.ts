// Training checkpoints as one safetensors file: each trained tensor with its two AdamW moments,
// and the step, data cursor and settings in the metadata. The same bytes go to IndexedDB or disk.
import type { Cursor } from './data-order';
import { parseSafetensors, tensorToFloat32, writeSafetensors } from './safetensors';

export interface TrainState {
  step: number;
  cursor: Cursor;
  /** Settings the run was started with (LoRA config, optimizer options, seed), for resuming. */
  settings: Record<string, unknown>;
  tensors: { name: string; value: Float32Array; m1: Float32Array; m2: Float32Array }[];
}

export function encodeCheckpoint(s: TrainState): Uint8Array {
  const tensors: Parameters<typeof writeSafetensors>[0] = {};
  for (const t of s.tensors) {
    tensors[`${t.name}`] = { dtype: 'F32', shape: [t.value.length], data: t.value };
    tensors[`${t.name}::m1`] = { dtype: 'F32', shape: [t.m1.length], data: t.m1 };
    tensors[`${t.name}::m2`] = { dtype: 'F32', shape: [t.m2.length], data: t.m2 };
  }
  return writeSafetensors(tensors, {
    format: 'latentlab-checkpoint',
    step: String(s.step),
    cursor: JSON.stringify(s.cursor),
    settings: JSON.stringify(s.settings),
  });
}

export function decodeCheckpoint(bytes: Uint8Array, source = 'checkpoint'): TrainState {
  const st = parseSafetensors(bytes, source);
  if (st.metadata.format !== 'latentlab-checkpoint') throw new Error(`${source} is not a LatentLab training checkpoint`);
  const get = (name: string) => {
    const info = st.tensors.get(name);
    if (!info) throw new Error(`${source}: tensor ${name} is missing`);
    return tensorToFloat32(bytes, info, st.dataOffset);
  };
  const names = [...st.tensors.keys()].filter((n) => !n.includes('::'));
  return {
    step: Number(st.metadata.step),
    cursor: JSON.parse(st.metadata.cursor),
    settings: JSON.parse(st.metadata.settings),
    tensors: names.map((name) => ({ name, value: get(name), m1: get(`${name}::m1`), m2: get(`${name}::m2`) })),
  };
}
