// GGUF files written here from the stories260K weights (llama.cpp names, q/k rows permuted as
// convert_hf_to_gguf does): F32 loads to the safetensors model's exact logits and greedy ids; Q8_0 equals the
// float64 reference on the Q8_0-decoded weights and re-quantizes to q8 without loss; F16 loads as f16 to the
// safetensors model's f16 logits; the writer's files parse
// the same with @huggingface/gguf; bad files are refused with the problem named.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gguf as hfGguf } from '@huggingface/gguf';
import { nodeGpu } from '../src/gpu/node';
import { Model } from '../src/engine/model';
import { folderFiles, rangedFile } from '../src/engine/files-node';
import { openGguf } from '../src/engine/open-model';
import { parseGguf, ggufToFloat32 } from '../src/engine/gguf';
import { readGgufModel, spmMerges, unpermute } from '../src/engine/gguf-model';
import { parseSafetensors, tensorToFloat32 } from '../src/engine/safetensors';
import { writeGguf, dequantQ8_0, quantQ4_0, type GgufTensorIn, type MetaValue } from './fixtures/gguf-writer';
import { HF_TO_GGUF, llamaFolderGguf, llamaMetadata, permute } from './fixtures/hf-to-gguf';
import { refModel, referenceGreedy } from './reference/reference';
import { packMatrix, unpackMatrix } from '../src/engine/quant';
import { makeTinyModel, writeTinyModel } from './fixtures/tiny-models';

const STORIES = fileURLToPath(new URL('../../shared/models/stories260K', import.meta.url));
const cfg = JSON.parse(readFileSync(join(STORIES, 'config.json'), 'utf8'));

function storiesTensors(): Map<string, { shape: number[]; data: Float32Array }> {
  const bytes = new Uint8Array(readFileSync(join(STORIES, 'model.safetensors')));
  const h = parseSafetensors(bytes);
  return new Map([...h.tensors].map(([n, info]) => [n, { shape: info.shape, data: tensorToFloat32(bytes, info, h.dataOffset) }]));
}

const storiesMetadata = (extra: Record<string, MetaValue> = {}) => llamaMetadata(cfg, 'stories260K', extra);
const storiesGguf = (type: GgufTensorIn['type'], drop?: string) => llamaFolderGguf(STORIES, type, drop);

describe('GGUF', () => {
  let gpu: Awaited<ReturnType<typeof nodeGpu>>;
  let safetensors: Model;
  beforeAll(async () => {
    gpu = await nodeGpu();
    safetensors = await Model.load(gpu, folderFiles(STORIES), { dtype: 'f32' });
  });
  afterAll(() => safetensors.dispose());

  test('unpermute inverts the converter permutation', () => {
    const x = Float32Array.from({ length: 8 * 3 }, (_, i) => i);
    expect(Array.from(unpermute(permute(x, 2, 8, 3), 2, 8, 3))).toEqual(Array.from(x));
  });

  test('F32: same config, exact logits and the same greedy ids as the safetensors load', async () => {
    const bytes = storiesGguf('F32');
    const g = await readGgufModel(bytes, 'stories260K-f32.gguf');
    // GGUF stores the epsilon as f32.
    expect({ ...g.config, normEps: 0 }).toEqual({ ...safetensors.config, normEps: 0 });
    expect(g.config.normEps).toBeCloseTo(safetensors.config.normEps, 12);
    const { model, tokenizer, tokenizerNote } = await openGguf(gpu, bytes, 'stories260K-f32.gguf', { dtype: 'f32' });
    expect(tokenizer).toBeNull();
    expect(tokenizerNote).toMatch(/no embedded tokenizer/);
    const ids = [1, 300, 20, 45];
    expect(Array.from((await model.forward(ids)).logits!)).toEqual(Array.from((await safetensors.forward(ids)).logits!));
    expect(await model.generate([1], { maxNewTokens: 30, stop: [] })).toEqual(await safetensors.generate([1], { maxNewTokens: 30, stop: [] }));
    model.dispose();
  });

  test('Q8_0: greedy equals the float64 reference on the Q8_0-decoded weights; --dtype q8 re-quantizes it without loss', async () => {
    const bytes = storiesGguf('Q8_0');
    const file = parseGguf(bytes);
    expect(file.tensors.get('blk.0.attn_q.weight')!.type).toBe(8);
    const decoded = new Map([...storiesTensors()].map(([n, t]) => [n, { shape: t.shape, data: t.shape.length === 2 && t.shape[1] % 32 === 0 ? dequantQ8_0(t.data) : t.data }]));
    const want = referenceGreedy(refModel(cfg, decoded), [1], 30);
    const f32 = await openGguf(gpu, bytes, 'stories260K-q8_0.gguf', { dtype: 'f32' });
    expect(await f32.model.generate([1], { maxNewTokens: 30, stop: [] })).toEqual(want);
    // Q8_0 blocks are groups of 32 with an absmax scale, as q8's: decoded values re-quantize exactly.
    const t = file.tensors.get('blk.2.ffn_gate.weight')!;
    const dec = ggufToFloat32(file, bytes, t);
    const again = unpackMatrix(packMatrix('q8', dec, t.dims[1], t.dims[0]));
    let worst = 0;
    for (let i = 0; i < dec.length; i++) worst = Math.max(worst, Math.abs(again[i] - dec[i]) / (Math.abs(dec[i]) + 1e-30));
    expect(worst).toBeLessThan(1e-6);
    f32.model.dispose();
  });

  test('F16 loaded as --dtype f16: the safetensors model\'s f16 logits, bit for bit', async () => {
    const bytes = storiesGguf('F16');
    expect(parseGguf(bytes).tensors.get('blk.0.attn_q.weight')!.type).toBe(1);
    const { model } = await openGguf(gpu, bytes, 'stories260K-f16.gguf', { dtype: 'f16' });
    const f16 = await Model.load(gpu, folderFiles(STORIES), { dtype: 'f16' });
    expect(model.dtype).toBe('f16');
    const ids = [1, 300, 20, 45];
    expect(Array.from((await model.forward(ids)).logits!)).toEqual(Array.from((await f16.forward(ids)).logits!));
    model.dispose();
    f16.dispose();
  });

  test('Qwen2 (q/k/v biases, not permuted by the converter) gives the safetensors logits', async () => {
    const m = makeTinyModel('qwen2');
    const c = m.configJson as Record<string, number>;
    const map: [RegExp, string][] = [...HF_TO_GGUF, [/^model\.layers\.(\d+)\.self_attn\.([qkv])_proj\.bias$/, 'blk.$1.attn_$2.bias']];
    const tensors: Record<string, GgufTensorIn> = {};
    for (const [name, t] of Object.entries(m.tensors)) {
      const rule = map.find(([re]) => re.test(name))!;
      tensors[name.replace(rule[0], rule[1])] = { shape: t.shape, type: 'F32', data: t.data };
    }
    const u = (value: number) => ({ type: 'u32' as const, value });
    const bytes = writeGguf(
      {
        'general.architecture': { type: 'string', value: 'qwen2' },
        'qwen2.context_length': u(c.max_position_embeddings), 'qwen2.embedding_length': u(c.hidden_size), 'qwen2.block_count': u(c.num_hidden_layers),
        'qwen2.feed_forward_length': u(c.intermediate_size), 'qwen2.attention.head_count': u(c.num_attention_heads), 'qwen2.attention.head_count_kv': u(c.num_key_value_heads),
        'qwen2.attention.layer_norm_rms_epsilon': { type: 'f32', value: c.rms_norm_eps }, 'qwen2.rope.freq_base': { type: 'f32', value: c.rope_theta },
      },
      tensors,
    );
    const g = await openGguf(gpu, bytes, 'qwen2.gguf', { dtype: 'f32' });
    expect(g.model.config.arch).toBe('qwen2');
    expect(g.model.config.tiedEmbeddings).toBe(true);
    const local = await Model.load(gpu, folderFiles(writeTinyModel('qwen2')), { dtype: 'f32' });
    expect(Array.from((await g.model.forward([3, 9, 27])).logits!)).toEqual(Array.from((await local.forward([3, 9, 27])).logits!));
    g.model.dispose();
    local.dispose();
  });

  test('read by ranges: a header larger than the first MiB, tensors one at a time, same logits as in memory', async () => {
    // 300,000 vocabulary strings (about 3.5 MB of metadata) before the tensor infos.
    const tokens = Array.from({ length: 300_000 }, (_, i) => `tok${i}`);
    const bytes = writeGguf({ ...storiesMetadata(), 'tokenizer.ggml.model': { type: 'string', value: 'none' }, 'tokenizer.ggml.tokens': { type: 'strings', value: tokens } }, readGgufModelTensors());
    const path = join(mkdtempSync(join(tmpdir(), 'gguf-')), 'big-header.gguf');
    writeFileSync(path, bytes);
    let reads = 0;
    const file = (await rangedFile(path))!;
    const counted = { size: file.size, read: (a: number, b: number) => (reads++, file.read(a, b)) };
    const ranged = await openGguf(gpu, counted, path, { dtype: 'f32' });
    expect(ranged.tokenizerNote).toMatch(/type "none" is not rebuilt/);
    expect(reads).toBeGreaterThan(20); // the header in growing prefixes, then one read per tensor
    const whole = await openGguf(gpu, bytes, path, { dtype: 'f32' });
    expect(Array.from((await ranged.model.forward([1, 2, 3])).logits!)).toEqual(Array.from((await whole.model.forward([1, 2, 3])).logits!));
    ranged.model.dispose();
    whole.model.dispose();
  });

  test('Q4_0 blocks decode as llama.cpp defines them', () => {
    const x = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i) * (i < 32 ? 1 : 0.01));
    const tensors = { 't.weight': { shape: [2, 32], type: 'Q4_0' as const, data: x } };
    const bytes = writeGguf({ 'general.architecture': { type: 'string', value: 'llama' } }, tensors);
    const file = parseGguf(bytes);
    const got = ggufToFloat32(file, bytes, file.tensors.get('t.weight')!);
    const q = quantQ4_0(x);
    for (let b = 0; b < 2; b++) {
      const d = new DataView(q.buffer).getUint16(18 * b, true);
      expect(d).not.toBe(0);
      for (let j = 0; j < 32; j++) expect(Math.abs(got[32 * b + j] - x[32 * b + j])).toBeLessThanOrEqual((b === 0 ? 1 : 0.01) / 8 + 1e-6);
    }
  });

  test.each([['Q4_K', 12, 1 / 15], ['Q6_K', 14, 1 / 31]] as const)('%s super-blocks decode within half a step of each value', (type, id, rel) => {
    // Sub-blocks of very different ranges, so every 6-bit scale and min position matters.
    const x = Float32Array.from({ length: 512 }, (_, i) => Math.sin(i * 0.7) * (1 + (i >> 5)) * (i % 3 === 0 ? 1 : 0.5) + (i >> 6) * 0.1);
    const bytes = writeGguf({ 'general.architecture': { type: 'string', value: 'llama' } }, { 't.weight': { shape: [2, 256], type, data: x } });
    const file = parseGguf(bytes);
    expect(file.tensors.get('t.weight')!.type).toBe(id);
    const got = ggufToFloat32(file, bytes, file.tensors.get('t.weight')!);
    const group = type === 'Q4_K' ? 32 : 16;
    for (let g = 0; g < 512 / group; g++) {
      const xs = Array.from(x.subarray(g * group, (g + 1) * group));
      const range = type === 'Q4_K' ? Math.max(...xs) - Math.min(0, ...xs) : Math.max(...xs.map(Math.abs));
      // Half a step, plus the rounding of 6-bit (Q4_K) and 8-bit (Q6_K) scales against the block's largest.
      const bound = range * rel * 0.5 + (type === 'Q4_K' ? 0.2 : 0.05) * range;
      for (let j = 0; j < group; j++) expect(Math.abs(got[g * group + j] - xs[j]), `${type}[${g * group + j}]`).toBeLessThanOrEqual(bound);
    }
    let err = 0;
    let norm = 0;
    for (let i = 0; i < 512; i++) {
      err += (got[i] - x[i]) ** 2;
      norm += x[i] ** 2;
    }
    expect(Math.sqrt(err / norm)).toBeLessThan(type === 'Q4_K' ? 0.08 : 0.03);
  });

  test('@huggingface/gguf reads the written file the same way', async () => {
    const bytes = storiesGguf('Q8_0');
    const path = join(mkdtempSync(join(tmpdir(), 'gguf-')), 'stories.gguf');
    writeFileSync(path, bytes);
    const theirs = await hfGguf(path, { allowLocalFile: true });
    const mine = parseGguf(bytes);
    expect(theirs.metadata['general.architecture']).toBe('llama');
    expect((theirs.metadata as Record<string, unknown>)['llama.block_count']).toBe(5);
    expect(theirs.tensorInfos.length).toBe(mine.tensors.size);
    for (const t of theirs.tensorInfos) {
      const m = mine.tensors.get(t.name)!;
      expect(t.shape.map(Number)).toEqual(m.dims);
      expect(Number(t.dtype)).toBe(m.type);
      expect(Number(t.offset)).toBe(m.offset);
    }
    expect(theirs.tensorDataOffset !== undefined ? Number(theirs.tensorDataOffset) : mine.dataOffset).toBe(mine.dataOffset);
  });

  test('an embedded byte-level BPE tokenizer becomes a working tokenizer', async () => {
    // A toy vocabulary: the bytes 'a', 'b', 'Ġ' and the merges "a b" → "ab", "Ġ ab" → "Ġab".
    const tokens = ['<s>', '</s>', 'a', 'b', 'Ġ', 'ab', 'Ġab'];
    const bytes = writeGguf(
      {
        ...storiesMetadata(),
        'tokenizer.ggml.model': { type: 'string', value: 'gpt2' },
        'tokenizer.ggml.tokens': { type: 'strings', value: tokens },
        'tokenizer.ggml.token_type': { type: 'i32s', value: [3, 3, 1, 1, 1, 1, 1] },
        'tokenizer.ggml.merges': { type: 'strings', value: ['a b', 'Ġ ab'] },
      },
      Object.fromEntries([...Object.entries(readGgufModelTensors())]),
    );
    const { model, tokenizer } = await openGguf(gpu, bytes, 'bpe.gguf', { dtype: 'f32' });
    expect(tokenizer!.encode('ab ab', { addSpecialTokens: false })).toEqual([5, 6]);
    expect(tokenizer!.decode([5, 6, 1])).toBe('ab ab</s>');
    model.dispose();
  });

  test('an embedded SentencePiece vocabulary becomes a tokenizer with rebuilt merges and byte fallback', async () => {
    // Scores rank merges: "▁hello" is reachable only through the higher-scored intermediate pieces.
    const pieces = ['<unk>', '<s>', '</s>', '<0x21>', '▁', 'h', 'e', 'l', 'o', 'he', 'll', 'llo', 'hello', '▁hello', 'ol'];
    const scores = [0, 0, 0, 0, -1, -2, -3, -4, -5, -6, -7, -8, -9, -10, -100];
    const types = [2, 3, 3, 6, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1];
    const bytes = writeGguf(
      {
        ...storiesMetadata(),
        'tokenizer.ggml.model': { type: 'string', value: 'llama' },
        'tokenizer.ggml.tokens': { type: 'strings', value: pieces },
        'tokenizer.ggml.scores': { type: 'f32s', value: scores },
        'tokenizer.ggml.token_type': { type: 'i32s', value: types },
        'tokenizer.ggml.unknown_token_id': { type: 'u32', value: 0 },
      },
      readGgufModelTensors(),
    );
    const { model, tokenizer } = await openGguf(gpu, bytes, 'spm.gguf', { dtype: 'f32' });
    // BOS prepended (SentencePiece default), "hello" merged whole, "!" by byte fallback, "lol" from pieces.
    expect(tokenizer!.encode('hello!')).toEqual([1, 13, 3]);
    expect(tokenizer!.encode('hello hello', { addSpecialTokens: false })).toEqual([13, 13]);
    expect(tokenizer!.decode([13, 13, 3])).toBe('hello hello!');
    model.dispose();
  });

  test('SentencePiece merges: by the merged piece\'s score, every split of it', () => {
    const pieces = ['a', 'b', 'c', 'ab', 'bc', 'abc'];
    expect(spmMerges(pieces, [0, 0, 0, -1, -2, -0.5], () => 1)).toEqual(['a bc', 'ab c', 'a b', 'b c']);
  });

  test.each([
    ['not GGUF', () => new TextEncoder().encode('{"json": true}'), /not a GGUF file/],
    ['truncated', () => storiesGguf('F32').subarray(0, 200_000), /runs past the data section .*truncated/],
    ['header cut short', () => storiesGguf('F32').subarray(0, 100), /header claims \d+ tensors and \d+ metadata entries, more than its 100 bytes can hold: truncated/],
    ['unsupported architecture', () => writeGguf({ ...storiesMetadata(), 'general.architecture': { type: 'string', value: 'mamba' } }, {}), /unsupported architecture "mamba" .*supported GGUF architectures: llama, qwen2/],
    ['missing tensor', () => storiesGguf('F32', 'blk.3.ffn_up.weight'), /tensor blk\.3\.ffn_up\.weight \(model\.layers\.3\.mlp\.up_proj\.weight\) is missing/],
    ['shape disagrees with metadata', () => {
      const b = storiesGguf('F32');
      return writeGguf(storiesMetadata({ 'llama.feed_forward_length': { type: 'u32', value: 160 } }), tensorsOf(b));
    }, /tensor blk\.0\.ffn_gate\.weight .* has shape \[172,64\] but the metadata implies \[160,64\]/],
    ['general.alignment 0', () => writeGguf(storiesMetadata({ 'general.alignment': { type: 'u32', value: 0 } }), readGgufModelTensors()), /bad\.gguf: general\.alignment is 0; it must be a positive multiple of 8/],
    ['general.alignment not a number', () => writeGguf(storiesMetadata({ 'general.alignment': { type: 'string', value: '32' } }), readGgufModelTensors()), /general\.alignment is "32"; it must be a positive multiple of 8/],
    ['a string where a number belongs', () => writeGguf(storiesMetadata({ 'llama.context_length': { type: 'string', value: '2048' } }), readGgufModelTensors()), /bad\.gguf: metadata llama\.context_length is "2048"; it must be a number/],
    ['a fractional size', () => writeGguf(storiesMetadata({ 'llama.embedding_length': { type: 'f32', value: 64.5 } }), readGgufModelTensors()), /"hidden_size" is 64\.5; it must be a positive integer/],
    ['zero heads', () => writeGguf(storiesMetadata({ 'llama.attention.head_count': { type: 'u32', value: 0 } }), readGgufModelTensors()), /"num_attention_heads" is 0; it must be a positive integer/],
    ['a negative norm epsilon', () => writeGguf(storiesMetadata({ 'llama.attention.layer_norm_rms_epsilon': { type: 'f32', value: -1e-5 } }), readGgufModelTensors()), /"rms_norm_eps" is -0\.0000\d+; it must be a number ≥ 0/],
    ['rope base 0', () => writeGguf(storiesMetadata({ 'llama.rope.freq_base': { type: 'f32', value: 0 } }), readGgufModelTensors()), /"rope_theta" is 0; it must be a positive number/],
    ['fewer blocks than the file holds', () => writeGguf(storiesMetadata({ 'llama.block_count': { type: 'u32', value: 3 } }), readGgufModelTensors()), /the config says num_hidden_layers 3 but the weights also hold layers 3, 4/],
    ['an absurd array count', () => {
      const b = writeGguf(storiesMetadata({ 'test.list': { type: 'strings', value: ['a'] } }), readGgufModelTensors());
      const key = new TextEncoder().encode('test.list');
      const at = b.findIndex((_, i) => key.every((k, j) => b[i + j] === k)) + key.length + 8; // past the key, its type and element type
      new DataView(b.buffer, b.byteOffset).setBigUint64(at, 2n ** 40n, true);
      return b;
    }, /test\.list claims 1099511627776 array elements but only \d+ bytes remain/],
    ['a NaN weight', () => {
      const t = readGgufModelTensors();
      t['blk.2.ffn_down.weight'].data[172 * 3 + 10] = NaN; // [64, 172]
      return writeGguf(storiesMetadata(), t);
    }, /NaN or infinite values, first at: model\.layers\.2\.mlp\.down_proj\.weight \[3, 10\]/],
  ] as [string, () => Uint8Array, RegExp][])('%s is refused with the problem named', async (_, make, msg) => {
    await expect(openGguf(gpu, make(), 'bad.gguf', { dtype: 'f32' })).rejects.toThrow(msg);
  });
});

/** The F32 tensors of a written file, to rewrite them under other metadata. */
function tensorsOf(bytes: Uint8Array): Record<string, GgufTensorIn> {
  const f = parseGguf(bytes);
  return Object.fromEntries([...f.tensors.values()].map((t) => [t.name, { shape: [...t.dims].reverse(), type: 'F32' as const, data: ggufToFloat32(f, bytes, t) }]));
}

function readGgufModelTensors(): Record<string, GgufTensorIn> {
  return tensorsOf(storiesGguf('F32'));
}
