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
    for (const [part, v] of [['', t.value], ['::m1', t.m1], ['::m2', t.m2]] as const) checkFinite(`checkpoint of step ${s.step}: tensor ${t.name}${part}`, v);
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
  const meta = (key: string): unknown => {
    const text = st.metadata[key];
    if (text === undefined) throw new Error(`${source}: metadata "${key}" is missing; the checkpoint is damaged or was not written by LatentLab`);
    try {
      return JSON.parse(text);
    } catch {
      throw new Error(`${source}: metadata "${key}" is not valid JSON: ${text.slice(0, 80)}`);
    }
  };
  const step = meta('step');
  if (!Number.isSafeInteger(step) || (step as number) < 0) throw new Error(`${source}: metadata "step" is ${JSON.stringify(step)}; it must be a non-negative integer`);
  const cursor = meta('cursor');
  const c = cursor as Record<string, unknown> | null;
  if (!c || typeof c !== 'object' || ![c.epoch, c.index].every((v) => Number.isSafeInteger(v) && (v as number) >= 0)) {
    throw new Error(`${source}: metadata "cursor" is ${JSON.stringify(cursor)}; it must be the data order's position {"epoch": E, "index": I}`);
  }
  const settings = meta('settings');
  if (!settings || typeof settings !== 'object' || Array.isArray(settings)) throw new Error(`${source}: metadata "settings" is ${JSON.stringify(settings)}; it must be an object`);
  const get = (name: string, n?: number) => {
    const info = st.tensors.get(name);
    if (!info) throw new Error(`${source}: tensor ${name} is missing`);
    const values = tensorToFloat32(bytes, info, st.dataOffset);
    if (n !== undefined && values.length !== n) throw new Error(`${source}: tensor ${name} has ${values.length} values but ${name.split("::")[0]} has ${n}`);
    // A non-finite value would carry on training as NaN from the first resumed step.
    const bad = values.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new Error(`${source}: tensor ${name} holds ${values[bad]} at index ${bad}; the checkpoint is not usable`);
    return values;
  };
  const names = [...st.tensors.keys()].filter((n) => !n.includes('::'));
  return {
    step: step as number,
    cursor: cursor as Cursor,
    settings: settings as Record<string, unknown>,
    tensors: names.map((name) => {
      const value = get(name);
      return { name, value, m1: get(`${name}::m1`, value.length), m2: get(`${name}::m2`, value.length) };
    }),
  };
}

/** A non-finite value is refused before anything is written: it would poison every run resumed from it. */
export function checkFinite(what: string, values: Float32Array): void {
  const bad = values.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new Error(`${what} holds ${values[bad]} at index ${bad}; nothing was written`);
}
