// The shipped toy models: HF layout, size budget, and their cards' held-out accuracies re-measured with the engine
// on other fresh items (agreement within sampling error).
import { describe, expect, test } from 'vitest';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { nodeGpu } from '../src/gpu/node';
import { Model } from '../src/engine/model';
import { folderFiles } from '../src/engine/files-node';
import { WordTokenizer, evaluateFamily, EvalFamily, EvalOptions } from '../src/toyworld/index';
import { engineScorer } from '../src/toyworld/engine-scorer';
import { vocabFromTokenizerJson } from '../src/common/vocab';

const ROOT = 'public/models';
const MODELS = ['toy-s', 'toy-m'].filter((m) => existsSync(join(ROOT, m, 'config.json')));

/** Card rows re-checked here, with the options card.ts used for them and how many items to draw. */
const CHECKS: { label: string; family: EvalFamily; opts: EvalOptions; n: number }[] = [
  { label: 'binding', family: 'binding', opts: {}, n: 120 },
  { label: 'implications', family: 'implications', opts: {}, n: 120 },
  { label: 'judgement', family: 'judgement', opts: {}, n: 120 },
  { label: 'sentiment', family: 'sentiment', opts: {}, n: 60 },
  { label: 'persona', family: 'persona', opts: {}, n: 30 },
  { label: 'arithmetic', family: 'arithmetic', opts: {}, n: 20 },
];

test('at least one shipped toy model, all together within 25 MB', () => {
  expect(MODELS.length).toBeGreaterThan(0);
  let bytes = 0;
  for (const m of readdirSync(ROOT)) {
    const p = join(ROOT, m);
    if (statSync(p).isDirectory()) for (const f of readdirSync(p)) bytes += statSync(join(p, f)).size;
    else bytes += statSync(p).size;
  }
  expect(bytes).toBeLessThanOrEqual(25 * 1024 * 1024);
});

describe.each(MODELS)('%s', (name) => {
  const dir = join(ROOT, name);

  test('Hugging Face Llama layout and files', () => {
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(cfg.architectures).toEqual(['LlamaForCausalLM']);
    for (const f of ['model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'MODEL_CARD.md', 'eval.json']) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
    const buf = readFileSync(join(dir, 'model.safetensors'));
    const header = JSON.parse(buf.subarray(8, 8 + Number(buf.readBigUInt64LE(0))).toString('utf8'));
    const want = ['model.embed_tokens.weight', 'model.norm.weight'];
    for (let i = 0; i < cfg.num_hidden_layers; i++) {
      const p = `model.layers.${i}.`;
      want.push(`${p}input_layernorm.weight`, `${p}post_attention_layernorm.weight`);
      for (const m of ['q', 'k', 'v', 'o']) want.push(`${p}self_attn.${m}_proj.weight`);
      for (const m of ['gate', 'up', 'down']) want.push(`${p}mlp.${m}_proj.weight`);
    }
    if (!cfg.tie_word_embeddings) want.push('lm_head.weight');
    expect(Object.keys(header).filter((k) => k !== '__metadata__').sort()).toEqual(want.sort());
    for (const k of want) expect(header[k].dtype).toBe('F32');
  });

  test("the card's held-out accuracies hold on other fresh items (engine)", async () => {
    const card = JSON.parse(readFileSync(join(dir, 'eval.json'), 'utf8')).evals as { label: string; accuracy: number; n: number; seed: number }[];
    const tok = new WordTokenizer(vocabFromTokenizerJson(JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8'))));
    const model = await Model.load(await nodeGpu(), folderFiles(dir));
    try {
      for (const c of CHECKS) {
        const row = card.find((r) => r.label === c.label)!;
        expect(row, c.label).toBeDefined();
        const seed = row.seed + 1; // different items from the card's
        const got = await evaluateFamily(c.family, c.n, seed, tok, engineScorer(model), undefined, c.opts);
        // Two independent binomial estimates: allow 3 standard errors of the difference (+ 0.02 for p near 0 or 1).
        const p = (row.accuracy * row.n + got.accuracy * c.n) / (row.n + c.n);
        const tol = 3 * Math.sqrt(p * (1 - p) * (1 / row.n + 1 / c.n)) + 0.02;
        expect(Math.abs(got.accuracy - row.accuracy), `${name} ${c.label}: card ${row.accuracy}, now ${got.accuracy}`).toBeLessThanOrEqual(tol);
      }
    } finally {
      model.dispose();
    }
  }, 900_000);
});
