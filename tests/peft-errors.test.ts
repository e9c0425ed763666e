// PEFT adapters that do not fit the model are refused by name before anything reaches the GPU: a transposed or
// wrongly sized tensor, non-finite values, target_modules that disagree with the tensors present, bad fields.
import { beforeAll, afterAll, describe, expect, test } from 'vitest';
import { fileURLToPath } from 'node:url';
import { nodeGpu } from '../src/gpu/node';
import { Model } from '../src/engine/model';
import { folderFiles } from '../src/engine/files-node';
import { memoryFiles } from '../src/engine/files';
import { importPeft } from '../src/engine/peft';
import { writeSafetensors, type WritableTensor } from '../src/engine/safetensors';

const STORIES = fileURLToPath(new URL('../../shared/models/stories260K', import.meta.url));
const R = 4;
const P = 'base_model.model.model.layers.0.self_attn';
const f32 = (shape: number[], fill = 0.01): WritableTensor => ({ dtype: 'F32', shape, data: new Float32Array(shape[0] * shape[1]).fill(fill) });
// q_proj: [64] → [64]; k_proj: [64] → [32] (4 KV heads of 8).
const good = (): Record<string, WritableTensor> => ({
  [`${P}.q_proj.lora_A.weight`]: f32([R, 64]),
  [`${P}.q_proj.lora_B.weight`]: f32([64, R]),
  [`${P}.k_proj.lora_A.weight`]: f32([R, 64]),
  [`${P}.k_proj.lora_B.weight`]: f32([32, R]),
});
const config = (extra: Record<string, unknown> = {}) => JSON.stringify({ peft_type: 'LORA', r: R, lora_alpha: 8, target_modules: ['q_proj', 'k_proj'], ...extra });

describe('PEFT adapter checks', () => {
  let model: Model;
  beforeAll(async () => {
    model = await Model.load(await nodeGpu(), folderFiles(STORIES), { dtype: 'f32' });
  });
  afterAll(() => model.dispose());
  const load = (tensors: Record<string, WritableTensor>, cfg = config()) =>
    importPeft(model.parts.rt, model.config, memoryFiles('adapter', { 'adapter_config.json': cfg, 'adapter_model.safetensors': writeSafetensors(tensors) }));

  test('a well-formed adapter loads, and changes the logits', async () => {
    const lora = await load(good());
    expect([...lora.modules.keys()].sort()).toEqual(['model.layers.0.self_attn.k_proj', 'model.layers.0.self_attn.q_proj']);
    const plain = (await model.forward([1, 2, 3])).logits!;
    const adapted = (await model.forward([1, 2, 3], { lora })).logits!;
    expect(adapted.some((v, i) => v !== plain[i])).toBe(true);
    lora.destroy();
  });

  test.each([
    ['a transposed lora_A', (t: Record<string, WritableTensor>) => void (t[`${P}.q_proj.lora_A.weight`] = f32([64, R])), config(), /adapter\/adapter_model\.safetensors: .*q_proj\.lora_A\.weight has shape \[64,4\] but r 4 and this model need \[4,64\] \(transposed\?\)/],
    ['a lora_B of the wrong width', (t: Record<string, WritableTensor>) => void (t[`${P}.k_proj.lora_B.weight`] = f32([64, R])), config(), /k_proj\.lora_B\.weight has shape \[64,4\] but r 4 and this model need \[32,4\]/],
    ['a rank other than r', (t: Record<string, WritableTensor>) => void (t[`${P}.q_proj.lora_A.weight`] = f32([8, 64])), config(), /q_proj\.lora_A\.weight has shape \[8,64\] but r 4/],
    ['a NaN in lora_B', (t: Record<string, WritableTensor>) => void (t[`${P}.q_proj.lora_B.weight`].data[4 * 3 + 1] = NaN), config(), /q_proj\.lora_B\.weight holds NaN at \[3, 1\]; an adapter must be finite/],
    ['an infinite lora_A', (t: Record<string, WritableTensor>) => void (t[`${P}.k_proj.lora_A.weight`].data[70] = Infinity), config(), /k_proj\.lora_A\.weight holds Infinity at \[1, 6\]/],
    ['lora_A without lora_B', (t: Record<string, WritableTensor>) => void delete t[`${P}.k_proj.lora_B.weight`], config(), /model\.layers\.0\.self_attn\.k_proj has lora_A but no lora_B/],
    ['tensors for a module target_modules does not name', () => {}, config({ target_modules: ['q_proj'] }), /has LoRA tensors for model\.layers\.0\.self_attn\.k_proj, which target_modules \["q_proj"\] in adapter\/adapter_config\.json does not name/],
    ['a target with no tensors', () => {}, config({ target_modules: ['q_proj', 'k_proj', 'v_proj'] }), /target_modules names "v_proj" but adapter\/adapter_model\.safetensors holds no tensors for it/],
    ['a module the model lacks', (t: Record<string, WritableTensor>) => void (t['base_model.model.model.layers.9.self_attn.q_proj.lora_A.weight'] = f32([R, 64])), config(), /adapter module model\.layers\.9\.self_attn\.q_proj does not exist in this llama model/],
    ['a tensor that is not a LoRA weight', (t: Record<string, WritableTensor>) => void (t['base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector'] = f32([64, 1])), config(), /tensor .*lora_magnitude_vector is not a LoRA weight/],
    ['r of 0', () => {}, config({ r: 0 }), /adapter_config\.json: "r" is 0; it must be a positive integer/],
    ['r as a string', () => {}, config({ r: '4' }), /"r" is "4"; it must be a positive integer/],
    ['per-module ranks', () => {}, config({ rank_pattern: { q_proj: 8 } }), /"rank_pattern" \(per-module ranks or alphas\) is not supported/],
    ['target_modules null', () => {}, config({ target_modules: null }), /"target_modules" is null; it must be a list of module names or one name/],
  ] as [string, (t: Record<string, WritableTensor>) => void, string, RegExp][])('%s is refused', async (_, edit, cfg, msg) => {
    const t = good();
    edit(t);
    await expect(load(t, cfg)).rejects.toThrow(msg);
  });
});
