// `latentlab latentqa train|read|eval|steer` end to end on a tiny random Qwen2 with the toy world's tokenizer:
// the JSON each prints, the files train writes, and the held-out split eval rebuilds from them.
import { afterAll, expect, test } from 'vitest';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeGpu } from '../src/gpu/node';
import { latentqaCommand } from '../src/cli/latentqa';
import { writeToyVocabModel } from './fixtures/toy-vocab-model';

const root = join(tmpdir(), `latentqa-cli-${process.pid}`);
mkdirSync(root, { recursive: true });
afterAll(() => rmSync(root, { recursive: true, force: true }));

test('train writes a PEFT decoder with its settings; read, eval and steer use it', async () => {
  const gpu = await nodeGpu();
  const model = writeToyVocabModel(root);
  const out = join(root, 'decoder');
  const common = { model, quiet: true, json: true };
  const t = (await latentqaCommand(['train'], { ...common, data: 'toy', 'per-control': '1', steps: '3', rank: '2', 'batch-size': '2', out }, gpu)) as Record<string, unknown>;
  expect(t.steps).toBe(3);
  expect(t.examples).toBe(5 * (44 - (t.held_out_controls as string[]).length));
  for (const f of ['adapter_config.json', 'adapter_model.safetensors', 'latentqa.json']) expect(existsSync(join(out, f))).toBe(true);
  const meta = JSON.parse(readFileSync(join(out, 'latentqa.json'), 'utf8'));
  expect(meta.layer).toBe(0);
  expect(meta.heldOutControls).toEqual(t.held_out_controls);
  expect(meta.trainControls.some((c: string) => meta.heldOutControls.includes(c))).toBe(false);
  expect(JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8')).target_modules).toEqual(expect.arrayContaining(['lm_head', 'q_proj']));

  const r = (await latentqaCommand(['read'], { ...common, decoder: out, system: 'You are a pirate .', user: 'Hello !', question: 'What persona does the assistant have ?', 'max-new-tokens': '3' }, gpu)) as Record<string, unknown>;
  for (const k of ['answer', 'text_only', 'untrained']) expect(typeof r[k]).toBe('string');
  expect(r.activations).toBe(5); // <|user|> Hello ! <|end|> <|assistant|>

  const e = (await latentqaCommand(['eval'], { ...common, decoder: out, n: '3', seed: '2', 'max-new-tokens': '2' }, gpu)) as Record<string, unknown>;
  for (const k of ['accuracy', 'text_only_accuracy', 'untrained_accuracy', 'probe_accuracy', 'n']) expect(e).toHaveProperty(k);
  expect(e.n).toBe(3);
  for (const k of ['accuracy', 'text_only_accuracy', 'untrained_accuracy']) expect(e[k]).toBeGreaterThanOrEqual(0);
  expect(e.held_out_controls).toEqual(t.held_out_controls);

  const s = (await latentqaCommand(['steer'], { ...common, decoder: out, persona: 'pirate', steps: '2', rank: '2', generations: '2', 'max-new-tokens': '3', 'qa-per-step': '1' }, gpu)) as Record<string, unknown>;
  expect(s.losses).toHaveLength(2);
  expect((s.before as string[]).length).toBe(2);
  expect(s.trait_words).toEqual(['Arr', 'ships', 'treasure', 'sea']);
  await expect(latentqaCommand(['nope'], common, gpu)).rejects.toThrow(/unknown latentqa command/);
  // A decoder refuses a target whose weights differ from the ones it was trained on.
  expect(meta.modelSha256).toMatch(/^[0-9a-f]{64}$/);
  writeFileSync(join(out, 'latentqa.json'), JSON.stringify({ ...meta, modelSha256: '0'.repeat(64) }));
  await expect(latentqaCommand(['eval'], { ...common, decoder: out, n: '1' }, gpu)).rejects.toThrow(/trained on other weights/);
}, 170_000);
