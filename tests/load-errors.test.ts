// Every bad model input at the loader level, each refused with a message that names the problem.
import { beforeAll, describe, expect, test } from 'vitest';
import { mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { folderFiles } from '../src/engine/files-node';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeGpu } from '../src/gpu/node';
import type { Gpu } from '../src/gpu/device';
import { Model } from '../src/engine/model';
import { memoryFiles } from '../src/engine/files';
import { openFiles } from '../src/engine/open-model';
import { planMemory, chooseDtype } from '../src/engine/memory-plan';
import { writeSafetensors } from '../src/engine/safetensors';
import { makeTinyModel } from './fixtures/tiny-models';
import type { ModelConfig } from '../src/engine/config';

const STORIES = fileURLToPath(new URL('../../shared/models/stories260K', import.meta.url));
const config = readFileSync(join(STORIES, 'config.json'), 'utf8');
const weights = new Uint8Array(readFileSync(join(STORIES, 'model.safetensors')));

/** The safetensors file with its JSON header replaced (data section kept). */
function withHeader(edit: (h: Record<string, any>) => void): Uint8Array {
  const len = Number(new DataView(weights.buffer, weights.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(weights.subarray(8, 8 + len)));
  edit(header);
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + weights.length - 8 - len);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(weights.subarray(8 + len), 8 + json.length);
  return out;
}

/** The safetensors file with one f32 value overwritten. */
function withValue(name: string, index: number, value: number): Uint8Array {
  const out = weights.slice();
  const len = Number(new DataView(out.buffer).getBigUint64(0, true));
  const info = JSON.parse(new TextDecoder().decode(out.subarray(8, 8 + len)))[name];
  new DataView(out.buffer).setFloat32(8 + len + info.data_offsets[0] + 4 * index, value, true);
  return out;
}

const cfgWith = (edit: Record<string, unknown>) => JSON.stringify({ ...JSON.parse(config), ...edit });

describe('bad model input', () => {
  let gpu: Gpu;
  beforeAll(async () => {
    gpu = await nodeGpu();
  });
  const load = (files: Record<string, Uint8Array | string>) => Model.load(gpu, memoryFiles('bad-model', files), { dtype: 'f32' });

  test.each([
    ['truncated safetensors', { 'config.json': config, 'model.safetensors': weights.subarray(0, 500_000) }, /bad-model\/model\.safetensors: tensor ".*" data_offsets .* run past the data section .*truncated\?/],
    ['header length past the end', { 'config.json': config, 'model.safetensors': weights.subarray(0, 1000) }, /header length \d+ runs past the end of the file \(1000 bytes\)/],
    ['shorter than the length prefix', { 'config.json': config, 'model.safetensors': weights.subarray(0, 5) }, /truncated, 5 bytes is shorter than the 8-byte header length/],
    ['overlapping offsets', { 'config.json': config, 'model.safetensors': withHeader((h) => { h['model.norm.weight'].data_offsets = h['model.layers.0.input_layernorm.weight'].data_offsets; }) }, /overlap/],
    ['out-of-range offsets', { 'config.json': config, 'model.safetensors': withHeader((h) => { h['model.norm.weight'].data_offsets = [2e6, 2e6 + 256]; }) }, /tensor "model\.norm\.weight" data_offsets \[2000000, 2000256\] run past the data section/],
    ['unknown dtype', { 'config.json': config, 'model.safetensors': withHeader((h) => { h['model.norm.weight'].dtype = 'F12'; }) }, /tensor "model\.norm\.weight" has unknown dtype "F12"; known: F64, F32/],
    ['a dtype that is not floats', { 'config.json': config, 'model.safetensors': withHeader((h) => { h['model.norm.weight'].dtype = 'I32'; }) }, /tensor model\.norm\.weight in model\.safetensors has dtype I32: integer or 8-bit tensors cannot be read as weights \(supported: F32, F16, BF16, F64\)/],
    ['a shape that disagrees with the config', { 'config.json': config.replace('"intermediate_size": 172', '"intermediate_size": 160'), 'model.safetensors': weights }, /tensor model\.layers\.0\.mlp\.gate_proj\.weight in model\.safetensors has shape \[172,64\] but the config implies \[160,64\]/],
    ['a missing tensor', { 'config.json': config, 'model.safetensors': withHeader((h) => { delete h['model.layers.2.self_attn.v_proj.weight']; }) }, /tensor model\.layers\.2\.self_attn\.v_proj\.weight is missing from the checkpoint/],
    ['an unsupported architecture', { 'config.json': config.replace('LlamaForCausalLM', 'MambaForCausalLM'), 'model.safetensors': weights }, /unsupported architecture "MambaForCausalLM" in bad-model\/config\.json; supported: GPT2LMHeadModel, LlamaForCausalLM, Qwen2ForCausalLM/],
    ['a config that is not JSON', { 'config.json': config.slice(0, 40), 'model.safetensors': weights }, /bad-model\/config\.json is not valid JSON/],
    ['no config', { 'model.safetensors': weights }, /bad-model: config\.json is missing/],
    ['no weights', { 'config.json': config }, /bad-model: no model\.safetensors or model\.safetensors\.index\.json/],
    ['an index whose weight_map is null', { 'config.json': config, 'model.safetensors.index.json': JSON.stringify({ weight_map: null }) }, /bad-model\/model\.safetensors\.index\.json: "weight_map" is null; it must be an object from tensor names to shard files/],
    ['an index naming a shard outside the folder', { 'config.json': config, 'model.safetensors.index.json': JSON.stringify({ weight_map: { 'model.norm.weight': '../x.safetensors' } }) }, /"weight_map" gives "\.\.\/x\.safetensors" as the shard of model\.norm\.weight/],
    ['fewer layers in the config than in the weights', { 'config.json': cfgWith({ num_hidden_layers: 3 }), 'model.safetensors': weights }, /the config says num_hidden_layers 3 but the weights also hold layers 3, 4; fix num_hidden_layers/],
    ['tensors of another model', { 'config.json': config, 'model.safetensors': withHeader((h) => { h['model.extra.weight'] = h['model.norm.weight']; delete h['model.norm.weight']; }) }, /tensor model\.norm\.weight is missing/],
    ['a leftover tensor', { 'config.json': config, 'model.safetensors': withHeader((h) => { h['vision_tower.proj.weight'] = { ...h['model.norm.weight'], data_offsets: [0, 0], shape: [0] }; }) }, /the weights hold 1 tensor this llama config does not use \(vision_tower\.proj\.weight\)/],
    ['a NaN weight (f32)', { 'config.json': config, 'model.safetensors': withValue('model.layers.1.self_attn.k_proj.weight', 3 * 64 + 5, NaN) }, /the weights hold NaN or infinite values, first at: model\.layers\.1\.self_attn\.k_proj\.weight \[3, 5\] \(1 non-finite value in layers\.1\.qkv\)/],
    ['an infinite norm weight (f32)', { 'config.json': config, 'model.safetensors': withValue('model.norm.weight', 7, -Infinity) }, /first at: model\.norm\.weight \[7\] \(1 non-finite value in norm\)/],
    ['an index naming a missing shard', { 'config.json': config, 'model.safetensors.index.json': JSON.stringify({ weight_map: { 'model.norm.weight': 'model-00001-of-00002.safetensors' } }) }, /shard model-00001-of-00002\.safetensors named in model\.safetensors\.index\.json is missing/],
  ] as [string, Record<string, Uint8Array | string>, RegExp][])('%s', async (_, files, msg) => {
    await expect(load(files)).rejects.toThrow(msg);
  });

  test.each([
    [{ num_attention_heads: 0 }, /"num_attention_heads" is 0; it must be a positive integer/],
    [{ num_attention_heads: 12, num_key_value_heads: 4 }, /"hidden_size" 64 is not divisible by "num_attention_heads" 12/],
    [{ num_key_value_heads: 3 }, /num_attention_heads 8 is not a multiple of num_key_value_heads 3/],
    [{ hidden_size: 64.5 }, /"hidden_size" is 64\.5; it must be a positive integer/],
    [{ intermediate_size: '172' }, /"intermediate_size" is missing or not a number/],
    [{ vocab_size: -512 }, /"vocab_size" is -512; it must be a positive integer/],
    [{ rms_norm_eps: -1e-5 }, /"rms_norm_eps" is -0\.00001; it must be a number ≥ 0/],
    [{ rope_theta: 0 }, /"rope_theta" is 0; it must be a positive number/],
    [{ rope_theta: -10000 }, /"rope_theta" is -10000; it must be a positive number/],
    [{ max_position_embeddings: 0 }, /"max_position_embeddings" is 0; it must be a positive integer/],
    [{ head_dim: 7 }, /head dimension 7 is odd/],
    [{ architectures: 'LlamaForCausalLM' }, /"architectures" must be a list of names such as \["LlamaForCausalLM"\], got "LlamaForCausalLM"/],
    [{ rope_scaling: { rope_type: 'llama3', factor: 8 } }, /rope_scaling\.low_freq_factor is missing; it must be a positive number/],
    [{ num_hidden_layers: 6 }, /tensor model\.layers\.5\.input_layernorm\.weight is missing from the checkpoint/],
  ] as [Record<string, unknown>, RegExp][])('config sanity: %j', async (edit, msg) => {
    await expect(load({ 'config.json': cfgWith(edit), 'model.safetensors': weights })).rejects.toThrow(msg);
  });

  test('GPT-2 config sanity: heads that do not divide n_embd, a fractional n_inner, a negative epsilon', async () => {
    const { parseConfig } = await import('../src/engine/config');
    const gpt2 = { architectures: ['GPT2LMHeadModel'], n_embd: 64, n_head: 4, n_layer: 2, n_positions: 32, vocab_size: 100 };
    expect(parseConfig(JSON.stringify(gpt2)).headDim).toBe(16);
    expect(() => parseConfig(JSON.stringify({ ...gpt2, n_head: 6 }))).toThrow(/"n_embd" 64 is not divisible by "n_head" 6/);
    expect(() => parseConfig(JSON.stringify({ ...gpt2, n_inner: 99.5 }))).toThrow(/"n_inner" is 99\.5; it must be a positive integer/);
    expect(() => parseConfig(JSON.stringify({ ...gpt2, layer_norm_epsilon: -1 }))).toThrow(/"layer_norm_epsilon" is -1; it must be a number ≥ 0/);
  });

  test('a NaN weight in a matrix split by rows is found in its part, and f16 refuses it as it packs', async () => {
    const files = { 'config.json': config, 'model.safetensors': withValue('model.embed_tokens.weight', 400 * 64 + 2, NaN) };
    await expect(Model.load(gpu, memoryFiles('bad-model', files), { dtype: 'f32', maxBinding: 100 * 64 * 4 })).rejects.toThrow(/first at: model\.embed_tokens\.weight \[400, 2\] \(1 non-finite value in embed\)/);
    await expect(Model.load(gpu, memoryFiles('bad-model', files), { dtype: 'f16' })).rejects.toThrow(/embed: value NaN at \[400, 2\] does not fit f16/);
  });

  test('a folder is read by ranges (one tensor at a time), with the same checks: truncated, and bytes gone mid-load', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'latentlab-bad-'));
    writeFileSync(join(dir, 'config.json'), config);
    writeFileSync(join(dir, 'model.safetensors'), weights.subarray(0, 500_000));
    await expect(Model.load(gpu, folderFiles(dir), { dtype: 'f32' })).rejects.toThrow(new RegExp(`${dir}/model\\.safetensors: tensor ".*" data_offsets .* run past the data section`));
    // Only the header is read up front: a file cut after that is found when its tensors are read.
    writeFileSync(join(dir, 'model.safetensors'), weights);
    const files = folderFiles(dir);
    const cut: typeof files = {
      ...files,
      open: async (path) => {
        const f = (await files.open!(path))!;
        truncateSync(join(dir, 'model.safetensors'), 200_000);
        return f;
      },
    };
    await expect(Model.load(gpu, cut, { dtype: 'f32' })).rejects.toThrow(/model\.safetensors: ended at byte \d+, \d+ wanted \(file changed while loading\?\)/);
  });

  test('a missing tokenizer: the model loads, and the tokenizer is null (the CLI then asks for --ids)', async () => {
    const { model, tokenizer } = await openFiles(gpu, memoryFiles('no-tokenizer', { 'config.json': config, 'model.safetensors': weights }), { dtype: 'f32' });
    expect(tokenizer).toBeNull();
    model.dispose();
  });

  test('a broken tokenizer.json is named', async () => {
    await expect(openFiles(gpu, memoryFiles('broken-tok', { 'config.json': config, 'model.safetensors': weights, 'tokenizer.json': '{"model": ' }), { dtype: 'f32' })).rejects.toThrow(/tokenizer\.json in broken-tok is not valid JSON/);
  });

  test('a model too large for the device: over the budget, or a row wider than any binding', () => {
    const limits = { maxStorageBufferBindingSize: 128 * 2 ** 20, maxBufferSize: 256 * 2 ** 20 };
    // A 7B-shaped Llama: 6.7e9 parameters.
    const big = { arch: 'llama', vocab: 32000, hidden: 4096, nLayers: 32, nHeads: 32, nKvHeads: 32, headDim: 128, intermediate: 11008, maxPositions: 4096, norm: 'rmsnorm', normEps: 1e-5, act: 'silu', gatedMlp: true, qkvBias: false, oBias: false, mlpBias: false, tiedEmbeddings: false, rope: { theta: 10000, llama3: null }, bosTokenId: 1, eosTokenIds: [2] } satisfies ModelConfig;
    const plan = planMemory(big, 'f32', limits);
    expect(plan.params).toBeGreaterThan(6.7e9);
    expect(plan.tensors.find((t) => t.name === 'embed')!.parts).toBe(4); // 500 MiB in 128 MiB bindings
    expect(() => chooseDtype(big, 'auto', limits, 3 * 2 ** 30)).toThrow(/model too large for this device: its weights need f32 \d{5}\.\d MiB, f16 \d{5}\.\d MiB, q8 \d{4}\.\d MiB, q4 \d{4}\.\d MiB but the budget is 3072\.0 MiB/);
    expect(chooseDtype(big, 'auto', limits, 5 * 2 ** 30).dtype).toBe('q4');
    expect(() => planMemory(big, 'f32', { maxStorageBufferBindingSize: 8192, maxBufferSize: 8192 })).toThrow(/embed \[32000, 4096\] as f32 needs 500\.0 MiB in one buffer, but this device binds at most 0\.0 MiB/);
  });

  test('a model too large for the budget is refused by Model.load before anything is uploaded', async () => {
    const tiny = makeTinyModel('llama-gqa');
    const files = { 'config.json': JSON.stringify(tiny.configJson), 'model.safetensors': writeSafetensors(tiny.tensors) };
    await expect(Model.load(gpu, memoryFiles('tiny', files), { dtype: 'f32', budgetBytes: 1000 })).rejects.toThrow(/model too large for this device: its weights need f32 0\.\d MiB but the budget is 0\.0 MiB; try a smaller --dtype/);
  });
});
