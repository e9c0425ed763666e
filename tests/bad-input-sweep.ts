// The bad-input sweep: over a hundred broken models, adapters, GGUF files, Hub repos, checkpoints and arguments,
// each given to the `latentlab` CLI as a user would (a child process), each classified:
//   clear    refused (exit 1, nothing on stdout) with a message that names the problem
//   handled  a valid input that must work did (exit 0, one JSON object that passes the case's check)
//   unclear  refused, but the message does not say what is wrong
//   silent   exit 0 where a refusal was due, or an output that fails its check (a silent wrong result)
//   refused  a valid input was refused
//   hang     no answer within the time limit
// Run: node --import ./bin/register.js tests/bad-input-sweep.ts [--only GROUP] [--jobs N]; tests/bad-input-sweep.test.ts runs it.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSafetensors, tensorToFloat32, writeSafetensors, type WritableTensor } from '../src/engine/safetensors';
import { parseGguf, ggufToFloat32 } from '../src/engine/gguf';
import { encodeCheckpoint } from '../src/engine/checkpoint';
import { writeGguf, type GgufTensorIn, type MetaValue } from './fixtures/gguf-writer';
import { llamaFolderGguf, llamaMetadata } from './fixtures/hf-to-gguf';
import { serveHub, type FakeHub, type HubRepo } from './helpers/hub-server';

const BIN = fileURLToPath(new URL('../bin/latentlab.js', import.meta.url));
const STORIES = fileURLToPath(new URL('../../shared/models/stories260K', import.meta.url));
const TOY_S = fileURLToPath(new URL('../public/models/toy-s', import.meta.url));

export type Outcome = 'clear' | 'handled' | 'unclear' | 'silent' | 'refused' | 'hang';

export interface Case {
  group: string;
  name: string;
  args: string[];
  /** A refusal whose message must match, or a check of the JSON output (null when right, else what is wrong). */
  want: RegExp | ((json: any, stderr: string) => string | null);
  /** Run instead of one CLI call (several processes at once). */
  run?: () => Promise<{ outcome: Outcome; detail: string }>;
}

export interface Result {
  group: string;
  name: string;
  outcome: Outcome;
  detail: string;
}

const enc = (s: string) => new TextEncoder().encode(s);
const storiesConfig = () => JSON.parse(readFileSync(join(STORIES, 'config.json'), 'utf8'));
const storiesWeights = () => new Uint8Array(readFileSync(join(STORIES, 'model.safetensors')));

/** A folder holding the given files (strings or bytes). */
function folder(root: string, name: string, files: Record<string, string | Uint8Array>): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  for (const [f, data] of Object.entries(files)) writeFileSync(join(dir, f), data);
  return dir;
}

/** stories260K's safetensors with its JSON header edited (data section kept). */
function withHeader(edit: (h: Record<string, any>) => void): Uint8Array {
  const w = storiesWeights();
  const len = Number(new DataView(w.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(w.subarray(8, 8 + len)));
  edit(header);
  const json = enc(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + w.length - 8 - len);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(w.subarray(8 + len), 8 + json.length);
  return out;
}

/** stories260K's safetensors with one f32 value overwritten. */
function withValue(name: string, index: number, value: number): Uint8Array {
  const w = storiesWeights();
  const len = Number(new DataView(w.buffer).getBigUint64(0, true));
  const info = JSON.parse(new TextDecoder().decode(w.subarray(8, 8 + len)))[name];
  new DataView(w.buffer).setFloat32(8 + len + info.data_offsets[0] + 4 * index, value, true);
  return w;
}

const ok = (check: (json: any, stderr: string) => string | null) => check;
const finiteLogits = (rows: number) => ok((j) => (Array.isArray(j.logits) && j.logits.length === rows && j.logits.flat().every((v: unknown) => typeof v === 'number') ? null : 'logits missing or not all numbers'));
const idsOut = (n: number) => ok((j) => (Array.isArray(j.ids) && j.ids.length === n && j.ids.every(Number.isInteger) ? null : `expected ${n} integer ids, got ${JSON.stringify(j.ids)}`));

/** Every case, with the files it needs written under `root` and the Hub repos served by `hub`. */
export function buildCases(root: string, hub: FakeHub, repos: Record<string, HubRepo>): Case[] {
  const cases: Case[] = [];
  const add = (group: string, name: string, args: string[], want: Case['want']) => cases.push({ group, name, args, want });
  const cfg = storiesConfig();
  const weights = storiesWeights();
  const model = (name: string, files: Record<string, string | Uint8Array>) => folder(root, name, files);
  const withCfg = (name: string, edit: Record<string, unknown>) => model(name, { 'config.json': JSON.stringify({ ...cfg, ...edit }), 'model.safetensors': weights });
  const logits = (dir: string, ...extra: string[]) => ['logits', '--model', dir, '--ids', '1,2,3', '--json', ...extra];

  // ---- a model folder: config.json ----
  const C = 'config';
  add(C, 'control: stories260K', logits(STORIES), finiteLogits(3));
  add(C, 'no config.json', logits(model('no-config', { 'model.safetensors': weights })), /config\.json is missing/);
  add(C, 'config not JSON', logits(model('cfg-not-json', { 'config.json': '{"hidden_size": 64,', 'model.safetensors': weights })), /config\.json is not valid JSON/);
  add(C, 'config served as HTML', logits(model('cfg-html', { 'config.json': '<!DOCTYPE html><html></html>', 'model.safetensors': weights })), /config\.json is not valid JSON/);
  add(C, 'config a JSON array', logits(model('cfg-array', { 'config.json': '[1, 2]', 'model.safetensors': weights })), /config\.json is not a JSON object/);
  add(C, 'unsupported architecture', logits(withCfg('cfg-mamba', { architectures: ['MambaForCausalLM'] })), /unsupported architecture "MambaForCausalLM".*supported: GPT2LMHeadModel/);
  add(C, 'architectures as a string', logits(withCfg('cfg-arch-string', { architectures: 'LlamaForCausalLM' })), /"architectures" must be a list of names/);
  add(C, 'heads 0', logits(withCfg('cfg-heads-0', { num_attention_heads: 0 })), /"num_attention_heads" is 0; it must be a positive integer/);
  add(C, 'heads not dividing the width', logits(withCfg('cfg-heads-12', { num_attention_heads: 12, num_key_value_heads: 4 })), /"hidden_size" 64 is not divisible by "num_attention_heads" 12/);
  add(C, 'KV heads not dividing heads', logits(withCfg('cfg-kv-3', { num_key_value_heads: 3 })), /num_attention_heads 8 is not a multiple of num_key_value_heads 3/);
  add(C, 'KV heads 0', logits(withCfg('cfg-kv-0', { num_key_value_heads: 0 })), /"num_key_value_heads" is 0/);
  add(C, 'fractional hidden_size', logits(withCfg('cfg-hidden-frac', { hidden_size: 64.5 })), /"hidden_size" is 64\.5; it must be a positive integer/);
  add(C, 'negative vocab_size', logits(withCfg('cfg-vocab-neg', { vocab_size: -512 })), /"vocab_size" is -512/);
  add(C, 'intermediate_size as a string', logits(withCfg('cfg-inter-str', { intermediate_size: '172' })), /"intermediate_size" is missing or not a number/);
  add(C, 'negative rms_norm_eps', logits(withCfg('cfg-eps-neg', { rms_norm_eps: -1e-5 })), /"rms_norm_eps" is -0\.00001; it must be a number ≥ 0/);
  add(C, 'rope_theta 0', logits(withCfg('cfg-theta-0', { rope_theta: 0 })), /"rope_theta" is 0; it must be a positive number/);
  add(C, 'negative rope_theta', logits(withCfg('cfg-theta-neg', { rope_theta: -10000 })), /"rope_theta" is -10000/);
  add(C, 'max_position_embeddings 0', logits(withCfg('cfg-maxpos-0', { max_position_embeddings: 0 })), /"max_position_embeddings" is 0/);
  add(C, 'fewer layers than the weights hold', logits(withCfg('cfg-layers-3', { num_hidden_layers: 3 })), /num_hidden_layers 3 but the weights also hold layers 3, 4/);
  add(C, 'more layers than the weights hold', logits(withCfg('cfg-layers-6', { num_hidden_layers: 6 })), /tensor model\.layers\.5\.input_layernorm\.weight is missing/);
  add(C, 'odd head_dim', logits(withCfg('cfg-headdim-odd', { head_dim: 7 })), /head dimension 7 is odd/);
  add(C, 'rope_scaling llama3 without its factors', logits(withCfg('cfg-rope-llama3', { rope_scaling: { rope_type: 'llama3', factor: 8 } })), /rope_scaling\.low_freq_factor is missing/);
  add(C, 'rope_scaling of an unknown type', logits(withCfg('cfg-rope-yarn', { rope_scaling: { rope_type: 'yarn', factor: 4 } })), /rope_scaling type "yarn" is not supported/);
  add(C, 'unknown activation', logits(withCfg('cfg-act', { hidden_act: 'relu2' })), /unsupported activation "relu2"/);
  add(C, 'intermediate_size that disagrees with the weights', logits(withCfg('cfg-inter-160', { intermediate_size: 160 })), /gate_proj\.weight in model\.safetensors has shape \[172,64\] but the config implies \[160,64\]/);

  // ---- a model folder: weights ----
  const W = 'weights';
  const st = (name: string, bytes: Uint8Array) => model(name, { 'config.json': JSON.stringify(cfg), 'model.safetensors': bytes });
  add(W, 'no weights', logits(model('no-weights', { 'config.json': JSON.stringify(cfg) })), /no model\.safetensors or model\.safetensors\.index\.json/);
  add(W, 'truncated safetensors', logits(st('st-truncated', weights.subarray(0, 500_000))), /data_offsets .* run past the data section .*truncated\?/);
  add(W, 'header length past the end', logits(st('st-header-len', weights.subarray(0, 1000))), /header length \d+ runs past the end of the file \(1000 bytes\)/);
  add(W, 'five-byte file', logits(st('st-5', weights.subarray(0, 5))), /truncated, 5 bytes is shorter than the 8-byte header length/);
  add(W, 'header not JSON', logits(st('st-header-json', (() => { const w = weights.slice(); w[9] = 0x7b; w[10] = 0x7b; return w; })())), /header is not valid JSON/);
  add(W, 'overlapping tensors', logits(st('st-overlap', withHeader((h) => { h['model.norm.weight'].data_offsets = h['model.layers.0.input_layernorm.weight'].data_offsets; }))), /overlap/);
  add(W, 'unknown dtype', logits(st('st-f12', withHeader((h) => { h['model.norm.weight'].dtype = 'F12'; }))), /tensor "model\.norm\.weight" has unknown dtype "F12"/);
  add(W, 'an I32 weight', logits(st('st-i32', withHeader((h) => { h['model.norm.weight'].dtype = 'I32'; }))), /tensor model\.norm\.weight in model\.safetensors has dtype I32/);
  add(W, 'a missing tensor', logits(st('st-missing', withHeader((h) => { delete h['model.layers.2.self_attn.v_proj.weight']; }))), /tensor model\.layers\.2\.self_attn\.v_proj\.weight is missing/);
  add(W, 'a tensor of another model left over', logits(st('st-leftover', withHeader((h) => { h['vision.proj.weight'] = { dtype: 'F32', shape: [0], data_offsets: [0, 0] }; }))), /tensor this llama config does not use \(vision\.proj\.weight\)/);
  add(W, 'a NaN weight (f32)', logits(st('st-nan', withValue('model.layers.1.self_attn.k_proj.weight', 3 * 64 + 5, NaN))), /NaN or infinite values, first at: model\.layers\.1\.self_attn\.k_proj\.weight \[3, 5\]/);
  add(W, 'a +Inf weight (f32)', logits(st('st-inf', withValue('model.layers.4.mlp.down_proj.weight', 10, Infinity))), /NaN or infinite values, first at: model\.layers\.4\.mlp\.down_proj\.weight \[0, 10\]/);
  add(W, 'a -Inf norm weight (f32)', logits(st('st-neginf', withValue('model.norm.weight', 7, -Infinity))), /first at: model\.norm\.weight \[7\]/);
  add(W, 'a NaN embedding (f32)', logits(st('st-nan-embed', withValue('model.embed_tokens.weight', 511 * 64, NaN))), /first at: model\.embed_tokens\.weight \[511, 0\]/);
  add(W, 'a NaN weight as f16', logits(st('st-nan-f16', withValue('model.layers.0.mlp.up_proj.weight', 1, NaN)), '--dtype', 'f16'), /value NaN at \[\d+, 1\] does not fit f16/);
  add(W, 'a NaN weight as q8', logits(st('st-nan-q8', withValue('model.layers.0.mlp.up_proj.weight', 2, NaN)), '--dtype', 'q8'), /value NaN at \[\d+, 2\] cannot be quantized/);
  add(W, 'a NaN embedding as q4 (embedding at q8)', logits(st('st-nan-q4', withValue('model.embed_tokens.weight', 3, NaN)), '--dtype', 'q4'), /embed: value NaN at \[0, 3\] cannot be quantized/);
  add(W, 'finite weights that overflow the forward', logits(st('st-overflow', (() => {
    // Every final-norm weight 3e38: finite, but the logits overflow.
    const w = storiesWeights();
    const len = Number(new DataView(w.buffer).getBigUint64(0, true));
    const info = JSON.parse(new TextDecoder().decode(w.subarray(8, 8 + len)))['model.norm.weight'];
    for (let i = 0; i < 64; i++) new DataView(w.buffer).setFloat32(8 + len + info.data_offsets[0] + 4 * i, 3e38, true);
    return w;
  })())), /the logits hold (-?Infinity|NaN) at \[0, \d+\] \(the forward overflowed\)/);
  const index = (name: string, text: string) => model(name, { 'config.json': JSON.stringify(cfg), 'model.safetensors.index.json': text });
  add(W, 'index with weight_map null', logits(index('idx-null', '{"weight_map": null}')), /model\.safetensors\.index\.json: "weight_map" is null; it must be an object/);
  add(W, 'index not JSON', logits(index('idx-json', '{"weight_map": {')), /model\.safetensors\.index\.json is not valid JSON/);
  add(W, 'index naming a missing shard', logits(index('idx-missing', JSON.stringify({ weight_map: { 'model.norm.weight': 'model-00001-of-00002.safetensors' } }))), /shard model-00001-of-00002\.safetensors named in model\.safetensors\.index\.json is missing/);
  add(W, 'index naming a shard outside the folder', logits(index('idx-escape', JSON.stringify({ weight_map: { 'model.norm.weight': '../../etc/passwd.safetensors' } }))), /"weight_map" gives "\.\.\/\.\.\/etc\/passwd\.safetensors" as the shard of model\.norm\.weight/);
  add(W, 'GPU budget too small', logits(STORIES, '--gpu-budget-mb', '0.1'), /model too large for this device: its weights need f32 .* but the budget is 0\.1 MiB/);
  add(W, 'a file that is not .gguf', logits(join(STORIES, 'config.json')), /is a file but not a \.gguf file/);
  add(W, 'no such folder and not a Hub id', logits('/no/such/model'), /no such folder or file, and not a Hub id/);

  // ---- inputs ----
  const I = 'inputs';
  const g = (...extra: string[]) => ['generate', '--model', STORIES, '--json', ...extra];
  add(I, 'token id past the vocabulary', ['logits', '--model', STORIES, '--ids', '1,512', '--json'], /token id 512 is outside the vocabulary 0\.\.511/);
  add(I, 'negative token id', ['logits', '--model', STORIES, '--ids', '-1', '--json'], /token id -1 is outside the vocabulary/);
  add(I, 'fractional token id', ['logits', '--model', STORIES, '--ids', '1.5', '--json'], /"1\.5" is not an integer token id/);
  add(I, 'empty id in the list', ['logits', '--model', STORIES, '--ids', '1,,2', '--json'], /"" is not an integer token id/);
  add(I, 'ids not numbers', ['logits', '--model', STORIES, '--ids', 'a,b', '--json'], /"a" is not an integer token id/);
  add(I, '--text without a tokenizer', ['logits', '--model', STORIES, '--text', 'hello', '--json'], /--text needs a tokenizer, and .* has no tokenizer\.json/);
  add(I, 'no input at all', ['logits', '--model', STORIES, '--json'], /give the input as --ids 1,2,3 or --text/);
  add(I, 'positions past the context', ['logits', '--model', STORIES, '--ids', Array.from({ length: 513 }, () => 1).join(','), '--json'], /position 512 is past the model's context \(max_position_embeddings 512/);
  add(I, 'past the context with --past-context warn', g('--ids', Array.from({ length: 511 }, () => 1).join(','), '--max-new-tokens', '3', '--past-context', 'warn'), ok((j) => (j.ids?.length === 3 && /past max_position_embeddings 512/.test(j.warning ?? '') ? null : `no warning in ${JSON.stringify(j).slice(0, 200)}`)));
  add(I, '--past-context of an unknown value', logits(STORIES, '--past-context', 'maybe'), /--past-context must be refuse or warn, got "maybe"/);
  add(I, 'generation past the context (capped, with a note)', g('--ids', Array.from({ length: 510 }, () => 1).join(','), '--max-new-tokens', '5', '--stop', '0'), ok((j) => (j.ids?.length === 2 && /capped to 2/.test(j.note ?? '') ? null : `not capped with a note: ${JSON.stringify(j).slice(0, 200)}`)));
  add(I, 'an unknown hook name', ['cache', '--model', STORIES, '--ids', '1,2', '--hooks', 'blocks.9.hook_resid_post', '--json'], /blocks\.9\.hook_resid_post/);
  add(I, 'no hooks for cache', ['cache', '--model', STORIES, '--ids', '1,2', '--json'], /--hooks is required/);
  add(I, 'negative temperature', g('--ids', '1', '--temperature', '-1'), /temperature must be ≥ 0, got -1/);
  add(I, 'top-p 0', g('--ids', '1', '--temperature', '1', '--top-p', '0'), /top_p must be in \(0, 1\], got 0/);
  add(I, 'top-p 1.5', g('--ids', '1', '--temperature', '1', '--top-p', '1.5'), /top_p must be in \(0, 1\], got 1\.5/);
  add(I, 'fractional top-k', g('--ids', '1', '--temperature', '1', '--top-k', '1.5'), /top-k|top_k/);
  add(I, 'negative max-new-tokens', g('--ids', '1', '--max-new-tokens', '-1'), /max-new-tokens|maxNewTokens must be a non-negative integer, got -1/);
  add(I, 'a stop id that is not a number', g('--ids', '1', '--stop', 'x'), /--stop: "x" is not an integer token id/);
  add(I, 'control: 300 positions of logits (3 MB of JSON through a pipe, not cut at 128 KiB)', ['logits', '--model', STORIES, '--ids', Array.from({ length: 300 }, (_, i) => 1 + i).join(','), '--json'], finiteLogits(300));
  add(I, 'control: generate greedy', g('--ids', '1', '--max-new-tokens', '5', '--temperature', '0'), idsOut(5));
  add(I, 'max-new-tokens 0', g('--ids', '1', '--max-new-tokens', '0'), /--max-new-tokens must be at least 1, got 0/);
  add(I, 'an unknown dtype', logits(STORIES, '--dtype', 'f8'), /--dtype must be one of auto[,| ]+f32[,| ]+f16[,| ]+q8[,| ]+q4, got "f8"/);
  add(I, 'toy-s: control with --text', ['generate', '--model', TOY_S, '--text', 'the cat', '--max-new-tokens', '3', '--json'], ok((j) => (j.ids?.length >= 1 && typeof j.text === 'string' ? null : 'no ids/text')));
  add(I, 'toy-s: id past its vocabulary', ['logits', '--model', TOY_S, '--ids', '844', '--json'], /token id 844 is outside the vocabulary 0\.\.843/);
  add(I, 'toy-s: past its 128 positions', ['logits', '--model', TOY_S, '--ids', Array.from({ length: 129 }, () => 5).join(','), '--json'], /position 128 is past the model's context \(max_position_embeddings 128/);

  // ---- adapters ----
  const A = 'adapter';
  const R = 4;
  const P = 'base_model.model.model.layers.0.self_attn';
  const f32 = (shape: number[], fill = 0.01): WritableTensor => ({ dtype: 'F32', shape, data: new Float32Array(shape[0] * shape[1]).fill(fill) });
  const goodT = (): Record<string, WritableTensor> => ({ [`${P}.q_proj.lora_A.weight`]: f32([R, 64]), [`${P}.q_proj.lora_B.weight`]: f32([64, R]) });
  const acfg = (extra: Record<string, unknown> = {}) => JSON.stringify({ peft_type: 'LORA', r: R, lora_alpha: 8, target_modules: ['q_proj'], ...extra });
  const adapter = (name: string, tensors: Record<string, WritableTensor>, config = acfg()) =>
    logits(STORIES, '--adapter', folder(root, name, { 'adapter_config.json': config, 'adapter_model.safetensors': writeSafetensors(tensors) }));
  const edited = (edit: (t: Record<string, WritableTensor>) => void) => { const t = goodT(); edit(t); return t; };
  add(A, 'control: a good adapter', adapter('ad-good', goodT()), finiteLogits(3));
  add(A, 'adapter folder missing', logits(STORIES, '--adapter', join(root, 'no-adapter')), /adapter_config\.json is missing/);
  add(A, 'adapter_config not JSON', logits(STORIES, '--adapter', folder(root, 'ad-json', { 'adapter_config.json': '{', 'adapter_model.safetensors': writeSafetensors(goodT()) })), /adapter_config\.json is not valid JSON/);
  add(A, 'peft_type not LORA', adapter('ad-ia3', goodT(), acfg({ peft_type: 'IA3' })), /peft_type "IA3" is not supported/);
  add(A, 'r 0', adapter('ad-r0', goodT(), acfg({ r: 0 })), /"r" is 0; it must be a positive integer/);
  add(A, 'r as a string', adapter('ad-rstr', goodT(), acfg({ r: '4' })), /"r" is "4"/);
  add(A, 'transposed lora_A', adapter('ad-transposed', edited((t) => void (t[`${P}.q_proj.lora_A.weight`] = f32([64, R])))), /lora_A\.weight has shape \[64,4\] but r 4 and this model need \[4,64\] \(transposed\?\)/);
  add(A, 'a rank other than r', adapter('ad-rank', edited((t) => void (t[`${P}.q_proj.lora_B.weight`] = f32([64, 8])))), /lora_B\.weight has shape \[64,8\] but r 4/);
  add(A, 'NaN in lora_B', adapter('ad-nan', edited((t) => void (t[`${P}.q_proj.lora_B.weight`].data[5] = NaN))), /lora_B\.weight holds NaN at \[1, 1\]; an adapter must be finite/);
  add(A, 'a module the model lacks', adapter('ad-module', edited((t) => void (t['base_model.model.model.layers.7.self_attn.q_proj.lora_A.weight'] = f32([R, 64])))), /adapter module model\.layers\.7\.self_attn\.q_proj does not exist/);
  add(A, 'tensors for an untargeted module', adapter('ad-untargeted', goodT(), acfg({ target_modules: ['v_proj'] })), /has LoRA tensors for model\.layers\.0\.self_attn\.q_proj, which target_modules \["v_proj"\]/);
  add(A, 'a target without tensors', adapter('ad-notensors', goodT(), acfg({ target_modules: ['q_proj', 'o_proj'] })), /target_modules names "o_proj" but .* holds no tensors for it/);
  add(A, 'lora_A without lora_B', adapter('ad-noB', edited((t) => void delete t[`${P}.q_proj.lora_B.weight`])), /has lora_A but no lora_B/);
  add(A, 'lora_dropout 1.5', adapter('ad-dropout', goodT(), acfg({ lora_dropout: 1.5 })), /dropout must be in \[0, 1\), got 1\.5/);
  add(A, 'weights file missing', logits(STORIES, '--adapter', folder(root, 'ad-noweights', { 'adapter_config.json': acfg() })), /adapter_model\.safetensors is missing/);

  // ---- GGUF ----
  const G = 'gguf';
  const ggufBytes = llamaFolderGguf(STORIES, 'F32');
  const parsed = parseGguf(ggufBytes);
  const tensors = (): Record<string, GgufTensorIn> => Object.fromEntries([...parsed.tensors.values()].map((t) => [t.name, { shape: [...t.dims].reverse(), type: 'F32' as const, data: ggufToFloat32(parsed, ggufBytes, t) }]));
  const meta = (extra: Record<string, MetaValue> = {}) => llamaMetadata(cfg, 'stories260K', extra);
  const gguf = (name: string, bytes: Uint8Array) => {
    const f = join(root, `${name}.gguf`);
    writeFileSync(f, bytes);
    return logits(f);
  };
  add(G, 'control: F32 GGUF', gguf('g-good', ggufBytes), finiteLogits(3));
  add(G, 'not a GGUF file', gguf('g-json', enc('{"json": true}')), /not a GGUF file \(no "GGUF" magic/);
  add(G, 'truncated data', gguf('g-trunc', ggufBytes.subarray(0, 200_000)), /runs past the data section .*truncated/);
  add(G, 'header cut short', gguf('g-cut', ggufBytes.subarray(0, 100)), /more than its 100 bytes can hold: truncated/);
  add(G, 'version 1', gguf('g-v1', (() => { const b = ggufBytes.slice(); new DataView(b.buffer).setUint32(4, 1, true); return b; })()), /GGUF version 1 is not supported/);
  add(G, 'general.alignment 0', gguf('g-align0', writeGguf(meta({ 'general.alignment': { type: 'u32', value: 0 } }), tensors())), /general\.alignment is 0; it must be a positive multiple of 8/);
  add(G, 'general.alignment a string', gguf('g-alignstr', writeGguf(meta({ 'general.alignment': { type: 'string', value: '32' } }), tensors())), /general\.alignment is "32"/);
  add(G, 'a string where a number belongs', gguf('g-ctxstr', writeGguf(meta({ 'llama.context_length': { type: 'string', value: '2048' } }), tensors())), /metadata llama\.context_length is "2048"; it must be a number/);
  add(G, 'fractional embedding_length', gguf('g-frac', writeGguf(meta({ 'llama.embedding_length': { type: 'f32', value: 64.5 } }), tensors())), /"hidden_size" is 64\.5/);
  add(G, 'head_count 0', gguf('g-heads0', writeGguf(meta({ 'llama.attention.head_count': { type: 'u32', value: 0 } }), tensors())), /"num_attention_heads" is 0/);
  add(G, 'negative epsilon', gguf('g-eps', writeGguf(meta({ 'llama.attention.layer_norm_rms_epsilon': { type: 'f32', value: -1e-5 } }), tensors())), /"rms_norm_eps" is -0\.0000\d+/);
  add(G, 'rope freq_base 0', gguf('g-theta', writeGguf(meta({ 'llama.rope.freq_base': { type: 'f32', value: 0 } }), tensors())), /"rope_theta" is 0/);
  add(G, 'block_count below the blocks present', gguf('g-blocks3', writeGguf(meta({ 'llama.block_count': { type: 'u32', value: 3 } }), tensors())), /num_hidden_layers 3 but the weights also hold layers 3, 4/);
  add(G, 'block_count above the blocks present', gguf('g-blocks6', writeGguf(meta({ 'llama.block_count': { type: 'u32', value: 6 } }), tensors())), /tensor blk\.5\.attn_norm\.weight .* is missing/);
  add(G, 'an absurd array count', gguf('g-array', (() => {
    const b = writeGguf(meta({ 'test.list': { type: 'strings', value: ['a'] } }), tensors());
    const key = enc('test.list');
    const at = b.findIndex((_, i) => key.every((k, j) => b[i + j] === k)) + key.length + 8;
    new DataView(b.buffer, b.byteOffset).setBigUint64(at, 2n ** 40n, true);
    return b;
  })()), /test\.list claims 1099511627776 array elements/);
  add(G, 'a NaN tensor', gguf('g-nan', (() => { const t = tensors(); t['blk.1.attn_v.weight'].data[70] = NaN; return writeGguf(meta(), t); })()), /NaN or infinite values, first at: model\.layers\.1\.self_attn\.v_proj\.weight \[1, 6\]/);
  add(G, 'unsupported architecture', gguf('g-mamba', writeGguf(meta({ 'general.architecture': { type: 'string', value: 'mamba' } }), tensors())), /unsupported architecture "mamba"/);
  add(G, 'a missing tensor', gguf('g-missing', llamaFolderGguf(STORIES, 'F32', 'blk.3.ffn_up.weight')), /tensor blk\.3\.ffn_up\.weight \(model\.layers\.3\.mlp\.up_proj\.weight\) is missing/);
  add(G, 'a tensor of unknown kind', gguf('g-extra', (() => { const t = tensors(); t['mystery.weight'] = { shape: [4, 32], type: 'F32', data: new Float32Array(128) }; return writeGguf(meta(), t); })()), /tensor this llama config does not use \(mystery\.weight\)/);

  // ---- the Hub (local server) ----
  const H = 'hub';
  const cache = () => mkdtempSync(join(root, 'cache-'));
  const hubArgs = (repo: string, dir = cache(), ...extra: string[]) => ['logits', '--model', repo, '--hub-url', hub.url, '--cache-dir', dir, '--ids', '1,2,3', '--json', '--quiet', ...extra];
  const flip = () => { const w = weights.slice(); w[w.length - 1000] ^= 0x40; return w; };
  Object.assign(repos, {
    'sweep/ok': { files: { 'config.json': enc(JSON.stringify(cfg)), 'model.safetensors': weights } },
    'sweep/gated': { files: { 'config.json': enc(JSON.stringify(cfg)), 'model.safetensors': weights }, token: 'hf_good' },
    'sweep/pinned': { files: { 'config.json': enc(JSON.stringify(cfg)), 'model.safetensors': weights }, revision: 'v1' },
    'sweep/no-weights': { files: { 'config.json': enc(JSON.stringify(cfg)) } },
    'sweep/corrupt': { files: { 'config.json': enc(JSON.stringify(cfg)), 'model.safetensors': weights }, served: { 'model.safetensors': flip() } },
    'sweep/html-config': { files: { 'config.json': enc('<!DOCTYPE html><title>Too many requests</title>'), 'model.safetensors': weights } },
    'sweep/cut-config': { files: { 'config.json': enc(JSON.stringify(cfg).slice(0, 50)), 'model.safetensors': weights } },
    'sweep/head-size': { files: { 'config.json': enc(JSON.stringify(cfg)), 'model.safetensors': weights }, headSize: { 'model.safetensors': weights.length + 512 } },
    'sweep/null-map': { files: { 'config.json': enc(JSON.stringify(cfg)), 'model.safetensors.index.json': enc('{"weight_map": null}') } },
    'sweep/nan': { files: { 'config.json': enc(JSON.stringify(cfg)), 'model.safetensors': withValue('model.norm.weight', 0, NaN) } },
  });
  add(H, 'control: download and run', hubArgs('sweep/ok'), finiteLogits(3));
  add(H, 'unknown repo', hubArgs('sweep/nothing-here'), /sweep\/nothing-here: HTTP 401 for config\.json.*gated or private \(or does not exist\)/);
  add(H, 'gated without a token', hubArgs('sweep/gated'), /sweep\/gated: HTTP 401 .*--token or the HF_TOKEN/);
  add(H, 'gated with a wrong token', hubArgs('sweep/gated', cache(), '--token', 'hf_bad'), /refused the access token \(HTTP 401\)/);
  add(H, 'control: gated with its token', hubArgs('sweep/gated', cache(), '--token', 'hf_good'), finiteLogits(3));
  add(H, 'a revision that does not exist', hubArgs('sweep/pinned'), /sweep\/pinned: not found on the Hub .*revision "main"/);
  add(H, 'a repo without safetensors weights', hubArgs('sweep/no-weights'), /neither model\.safetensors nor model\.safetensors\.index\.json/);
  add(H, 'weights that fail their sha256', hubArgs('sweep/corrupt'), /model\.safetensors from .* does not match the Hub's sha256/);
  add(H, 'config served as HTML', hubArgs('sweep/html-config'), /config\.json from .* is not valid JSON .*it was not kept in the cache/);
  add(H, 'config cut short', hubArgs('sweep/cut-config'), /config\.json from .* is not valid JSON/);
  add(H, 'HEAD size disagrees with the body', hubArgs('sweep/head-size'), /announced 1045504 bytes \(HEAD\) but its download is 1044992 bytes/);
  add(H, 'index with weight_map null', hubArgs('sweep/null-map'), /"weight_map" is null/);
  add(H, 'a NaN weight from the Hub', hubArgs('sweep/nan'), /NaN or infinite values, first at: model\.norm\.weight \[0\]/);
  add(H, 'an unreachable Hub', ['logits', '--model', 'sweep/ok', '--hub-url', 'http://127.0.0.1:9', '--cache-dir', cache(), '--ids', '1', '--json'], /could not reach the Hub at http:\/\/127\.0\.0\.1:9/);
  const damaged = (name: string, damage: (dir: string) => void) => {
    const c: Case = { group: H, name, args: [], want: /./ };
    c.run = async () => {
      const dir = cache();
      const first = await cli(hubArgs('sweep/ok', dir));
      if (first.code !== 0) return { outcome: 'refused', detail: `first download failed: ${first.stderr.slice(-200)}` };
      damage(join(dir, 'hub', 'sweep--ok@main'));
      return classify(c, await cli(hubArgs('sweep/ok', dir)));
    };
    return c;
  };
  const manifestCase = damaged('a cached manifest of the wrong shape', (d) => writeFileSync(join(d, 'manifest.json'), JSON.stringify({ repo: 'sweep/ok', revision: 'main', files: 'all', missing: [] })));
  manifestCase.want = /manifest\.json: "files" is "all"; it must be an object from file names to sizes/;
  cases.push(manifestCase);
  const changed = damaged('a cached weight file changed in place (fetched anew)', (d) => {
    writeFileSync(join(d, 'model.safetensors'), flip());
    utimesSync(join(d, 'model.safetensors'), new Date(), new Date(Date.now() + 10_000));
  });
  changed.want = finiteLogits(3);
  cases.push(changed);
  const truncated = damaged('a cached weight file cut short (fetched anew)', (d) => writeFileSync(join(d, 'model.safetensors'), readFileSync(join(d, 'model.safetensors')).subarray(0, 4000)));
  truncated.want = finiteLogits(3);
  cases.push(truncated);
  const both: Case = { group: H, name: 'two processes downloading one repo into one cache', args: [], want: finiteLogits(3) };
  both.run = async () => {
    const dir = cache();
    const [a, b] = await Promise.all([cli(hubArgs('sweep/ok', dir)), cli(hubArgs('sweep/ok', dir))]);
    const ra = classify(both, a);
    return ra.outcome !== 'handled' ? ra : classify(both, b);
  };
  cases.push(both);

  // ---- training checkpoints (finetune --checkpoint resumes from the file) ----
  const K = 'checkpoint';
  const ft = (ckpt: string) => ['finetune', '--model', STORIES, '--ids', '1,2,3,4,5,6,7,8,9,10', '--seq-len', '8', '--steps', '1', '--lora-rank', '2', '--checkpoint', ckpt, '--out', join(root, 'ft-out'), '--json'];
  const ckptFile = (name: string, bytes: Uint8Array) => {
    const f = join(root, name);
    writeFileSync(f, bytes);
    return f;
  };
  const state = (edit: Partial<Parameters<typeof encodeCheckpoint>[0]> = {}) => encodeCheckpoint({ step: 0, cursor: { epoch: 0, index: 0 }, settings: { lora: { rank: 2, alpha: 4, targets: ['q_proj'] }, train: { lr: 1e-3 }, batchSize: 1, seed: 0 }, tensors: [], ...edit });
  add(K, 'a checkpoint that is not safetensors', ft(ckptFile('ck-garbage', enc('not a checkpoint at all'))), /header length \d+ runs past the end of the file|truncated/);
  add(K, 'a safetensors file that is not a checkpoint', ft(join(STORIES, 'model.safetensors')), /is not a LatentLab training checkpoint/);
  add(K, 'a checkpoint without its cursor', ft(ckptFile('ck-cursor', (() => {
    const b = state();
    const h = parseSafetensors(b);
    const md = { ...h.metadata };
    delete md.cursor;
    return writeSafetensors(Object.fromEntries([...h.tensors].map(([n, i]) => [n, { dtype: 'F32' as const, shape: i.shape, data: tensorToFloat32(b, i, h.dataOffset) }])), md);
  })())), /metadata "cursor" is missing/);
  // Written past encodeCheckpoint, which refuses non-finite values: a file damaged on disk or from elsewhere.
  const nanCkpt = (() => {
    const b = state({ tensors: [{ name: 'model.layers.0.self_attn.q_proj.lora_A', value: new Float32Array(128), m1: new Float32Array(128), m2: new Float32Array(128) }] });
    const h = parseSafetensors(b);
    const t = Object.fromEntries([...h.tensors].map(([n, i]) => [n, { dtype: 'F32' as const, shape: i.shape, data: tensorToFloat32(b, i, h.dataOffset) }]));
    t['model.layers.0.self_attn.q_proj.lora_A::m1'].data[9] = NaN;
    return writeSafetensors(t, h.metadata);
  })();
  add(K, 'a checkpoint with a NaN moment', ft(ckptFile('ck-nan', nanCkpt)), /q_proj\.lora_A::m1 holds NaN at index 9/);
  add(K, 'a checkpoint of another model', ft(ckptFile('ck-other', state({ tensors: [{ name: 'model.layers.0.self_attn.q_proj.lora_A', value: new Float32Array(256), m1: new Float32Array(256), m2: new Float32Array(256) }] }))), /the checkpoint does not fit this model: it has 256 values for model\.layers\.0\.self_attn\.q_proj\.lora_A, this run 128/);

  // ---- command-line arguments (src/cli/args.ts; expectations from issue 23) ----
  const F = 'args';
  add(F, 'a misspelt flag', ['generate', '--model', STORIES, '--ids', '1', '--temprature', '0', '--json'], /--temprature.*--temperature/);
  add(F, 'an unknown flag', logits(STORIES, '--frobnicate', '1'), /--frobnicate/);
  add(F, 'an unknown command', ['logit', '--model', STORIES, '--ids', '1'], /unknown command "logit"/);
  add(F, '--dtype in capitals', logits(STORIES, '--dtype', 'F32'), /--dtype must be one of/);
  add(F, 'fractional --max-new-tokens', g('--ids', '1', '--max-new-tokens', '2.5'), /--max-new-tokens.*(integer|whole number)/);
  add(F, 'negative --gpu-budget-mb', logits(STORIES, '--gpu-budget-mb', '-5'), /--gpu-budget-mb.*positive/);
  add(F, '--max-new-tokens past the context', g('--ids', Array.from({ length: 500 }, () => 1).join(','), '--max-new-tokens', '100000', '--stop', '0'), ok((j) => (j.ids?.length === 12 && /capped to 12/.test(j.note ?? '') ? null : `not capped with a note: ${JSON.stringify(j).slice(0, 120)}`)));
  add(F, '--batch-size 0', ['finetune', '--model', STORIES, '--ids', '1,2,3,4', '--steps', '1', '--batch-size', '0', '--out', join(root, 'ft-b0'), '--json'], /--batch-size.*(positive|at least 1|≥ 1|whole number)/);
  add(F, 'fractional --steps', ['finetune', '--model', STORIES, '--ids', '1,2,3,4', '--steps', '2.5', '--out', join(root, 'ft-s'), '--json'], /--steps.*(integer|whole number)/);
  add(F, 'an unknown --schedule', ['finetune', '--model', STORIES, '--ids', '1,2,3,4', '--steps', '1', '--schedule', 'exp', '--out', join(root, 'ft-sch'), '--json'], /--schedule.*(constant|linear|cosine)/);
  add(F, 'an unknown --optimizer', ['finetune', '--model', STORIES, '--ids', '1,2,3,4', '--steps', '1', '--optimizer', 'lion', '--out', join(root, 'ft-opt'), '--json'], /--optimizer.*(adamw|sgd)/);
  add(F, '--out where nothing can be written', ['finetune', '--model', STORIES, '--ids', '1,2,3,4', '--steps', '1', '--out', '/proc/latentlab', '--json'], /\/proc\/latentlab/);
  add(F, '--help', ['--help'], ok((_j, stderr) => null));
  return cases;
}

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

// Generous: a busy 2-core machine runs a case in 2–30 s; only a real hang reaches this.
let limitMs = 300_000;

function cli(args: string[]): Promise<Ran> {
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { timeout: limitMs, killSignal: 'SIGKILL', maxBuffer: 256 * 2 ** 20 }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: number; killed?: boolean; signal?: string }) | null;
      done({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, stdout, stderr, timedOut: !!e?.killed || e?.signal === 'SIGKILL' });
    });
  });
}

function classify(c: Case, r: Ran): { outcome: Outcome; detail: string } {
  const said = r.stderr.trim().split('\n').filter((l) => !l.startsWith('adapter:') && !l.startsWith('note:')).pop() ?? '';
  if (r.timedOut) return { outcome: 'hang', detail: `no answer in ${limitMs / 1000} s` };
  if (c.want instanceof RegExp) {
    if (r.code === 0) return { outcome: 'silent', detail: `exit 0: ${r.stdout.slice(0, 160)}` };
    if (r.code === 1 && r.stdout === '' && c.want.test(r.stderr)) return { outcome: 'clear', detail: said };
    return { outcome: 'unclear', detail: `exit ${r.code}: ${said.slice(0, 300)}` };
  }
  // --help is the one case whose output is text, not JSON.
  if (c.args[0] === '--help') return r.code === 0 && /usage: latentlab/.test(r.stdout) ? { outcome: 'handled', detail: 'usage on stdout' } : { outcome: 'refused', detail: `exit ${r.code}: ${(said || r.stdout).slice(0, 200)}` };
  if (r.code !== 0) return { outcome: 'refused', detail: `exit ${r.code}: ${said.slice(0, 300)}` };
  let json: unknown;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    return { outcome: 'silent', detail: `stdout is not one JSON object: ${r.stdout.slice(0, 120)}` };
  }
  const wrong = c.want(json, r.stderr);
  return wrong ? { outcome: 'silent', detail: wrong } : { outcome: 'handled', detail: '' };
}

/** Run every case (`jobs` at a time) against a local Hub; results in case order. */
export async function runSweep(opts: { only?: string; jobs?: number; limitMs?: number; onResult?: (r: Result) => void } = {}): Promise<Result[]> {
  limitMs = opts.limitMs ?? limitMs;
  const root = mkdtempSync(join(tmpdir(), 'latentlab-sweep-'));
  const repos: Record<string, HubRepo> = {};
  const hub = await serveHub(repos);
  try {
    const cases = buildCases(root, hub, repos).filter((c) => !opts.only || c.group === opts.only);
    const results: Result[] = new Array(cases.length);
    let next = 0;
    const worker = async () => {
      while (next < cases.length) {
        const i = next++;
        const c = cases[i];
        const { outcome, detail } = c.run ? await c.run() : classify(c, await cli(c.args));
        results[i] = { group: c.group, name: c.name, outcome, detail };
        opts.onResult?.(results[i]);
      }
    };
    await Promise.all(Array.from({ length: opts.jobs ?? 2 }, worker));
    return results;
  } finally {
    await hub.close();
  }
}

export function summary(results: Result[]): Record<Outcome, number> {
  const n: Record<Outcome, number> = { clear: 0, handled: 0, unclear: 0, silent: 0, refused: 0, hang: 0 };
  for (const r of results) n[r.outcome]++;
  return n;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const results = await runSweep({
    only: arg('only'),
    jobs: Number(arg('jobs') ?? 2),
    onResult: (r) => process.stderr.write(`${r.outcome.padEnd(8)} ${r.group}: ${r.name}${r.detail ? ` — ${r.detail}` : ''}\n`),
  });
  const n = summary(results);
  process.stdout.write(`${JSON.stringify({ cases: results.length, ...n })}\n`);
  process.exit(n.silent || n.hang ? 1 : 0);
}
