// LatentQA (src/methods/latentqa) on a tiny random Qwen2 carrying the toy world's tokenizer: data and split, masking,
// placeholder positions and position ids, the patch itself, greedy reading against a full forward, the decoder's
// loss falling, and the steering chain's gradient against finite differences of the decoder loss.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeGpu } from '../src/gpu/node';
import { Model, runtimeFor } from '../src/engine/model';
import { Tokenizer } from '../src/engine/tokenizer';
import { folderFiles } from '../src/engine/files-node';
import { LoraAdapter } from '../src/engine/lora';
import { lossGradients } from '../src/engine/trainer';
import { writeToyVocabModel } from './fixtures/toy-vocab-model';
import { HUB_CONTROLS, hubItems, paperControlQA, paperItems, parseJsonl, splitByControl, toyItems, toyKind } from '../src/methods/latentqa/data';
import { tokenizerCodec } from '../src/methods/latentqa/codec';
import { defaultReadLayer, readActivations, readHook, readPrompt } from '../src/methods/latentqa/read';
import { decoderExample, decoderFormat, decoderPrompt, patchHooks, WRITE_HOOK } from '../src/methods/latentqa/decoder';
import { answer, sameAnswer } from '../src/methods/latentqa/answer';
import { decoderExamples, decoderSettings, readItems, trainDecoder } from '../src/methods/latentqa/train';
import { decoderLossAndGrad, repetitionRate, seedExample, steerTargets, wordRate } from '../src/methods/latentqa/steer';
import { fitProbe, predictProbe } from '../src/methods/latentqa/probe';
import type { ChatCodec } from '../src/methods/latentqa/types';

describe('data', () => {
  test('toy items cover every persona; the split is by control, with both kinds held out', () => {
    const items = toyItems(2, 1);
    expect(new Set(items.map((i) => i.control)).size).toBe(44);
    const { train, test: held, testControls } = splitByControl(items, 0.25, 3, toyKind);
    const trainControls = new Set(train.map((i) => i.control));
    expect(held.every((i) => !trainControls.has(i.control))).toBe(true);
    expect(train.length + held.length).toBe(items.length);
    expect(new Set(testControls.map(toyKind))).toEqual(new Set(['role', 'goal']));
    expect(splitByControl(items, 0.25, 3, toyKind).testControls).toEqual(testControls); // seeded
    expect(splitByControl(items, 0.25, 4, toyKind).testControls).not.toEqual(testControls);
    // The user-only stimulus carries no trace of the control's text.
    for (const i of items) expect(i.stimulus.map((m) => m.role)).toEqual(['user']);
  });

  test('the built-in Hub set has ≥ 40 controls of both kinds, each with QA pairs; JSONL in the paper format parses', () => {
    expect(HUB_CONTROLS.length).toBeGreaterThanOrEqual(40);
    expect(new Set(HUB_CONTROLS.map((c) => c.kind))).toEqual(new Set(['persona', 'goal']));
    for (const c of HUB_CONTROLS) expect(c.qa.length).toBeGreaterThanOrEqual(3);
    expect(new Set(HUB_CONTROLS.map((c) => c.id)).size).toBe(HUB_CONTROLS.length);
    expect(hubItems().length).toBeGreaterThanOrEqual(80);
    const items = parseJsonl(
      '{"label":"persona-x","system":"You are X.","stimulus_user":"Hi","qa":[["Who?","X."]]}\n\n' +
        '{"control":"goal-y","control_user":"Sell cars.","stimulus_user":"Hello","qa":[{"question":"Goal?","answer":"Cars."}]}\n',
    );
    expect(items).toEqual([
      { control: 'persona-x', controlMessages: [{ role: 'system', content: 'You are X.' }], stimulus: [{ role: 'user', content: 'Hi' }], qa: [{ question: 'Who?', answer: 'X.' }] },
      { control: 'goal-y', controlMessages: [{ role: 'user', content: 'Sell cars.' }], stimulus: [{ role: 'user', content: 'Hello' }], qa: [{ question: 'Goal?', answer: 'Cars.' }] },
    ]);
    expect(() => parseJsonl('{"control":"a","system":"s","qa":[["q","a"]]}')).toThrow(/line 1: no stimulus/);
  });

  test('steering metrics: trait-word rate and repetition rate', () => {
    const texts = ['Mmm ! I love soup .', 'Arr ! ships', 'Cheers Cheers Cheers Cheers', 'a b a b'];
    expect(wordRate(texts, ['Mmm', 'sauce'])).toBe(0.25);
    expect(wordRate(texts, ['ship'])).toBe(0); // whole words only
    expect(repetitionRate(texts)).toBe(0.25);
    expect(repetitionRate(['x x x', 'soup soup soup soup .'])).toBe(0.5);
  });

  test.skipIf(!existsSync('/work/shared/data/latentqa/eval/system.json'))("the paper's public eval data joins system prompts with their labels' QA and splits by label", () => {
    const dir = '/work/shared/data/latentqa';
    const items = paperItems(readFileSync(join(dir, 'eval/system.json'), 'utf8'), readFileSync(join(dir, 'eval/qa.json'), 'utf8'));
    expect(items.length).toBeGreaterThan(500);
    expect(items[0].controlMessages[0].role).toBe('system');
    expect(items.every((i) => i.qa.length > 0)).toBe(true);
    const { train, test: held } = splitByControl(items, 0.2, 1);
    const tc = new Set(train.map((i) => i.control));
    expect(held.length).toBeGreaterThan(0);
    expect(held.some((i) => tc.has(i.control))).toBe(false);
    expect(new Set(held.map((i) => i.control.split('-')[0]))).toEqual(new Set(items.map((i) => i.control.split('-')[0])));
    const veg = paperControlQA(readFileSync(join(dir, 'controls/promote_veganism.json'), 'utf8'));
    expect(veg.length).toBeGreaterThanOrEqual(10);
  });

  test('answers compare as words; the probe separates separable classes', async () => {
    expect(sameAnswer('The assistant is a pirate', 'the assistant is a pirate .')).toBe(true);
    expect(sameAnswer('yes', 'no')).toBe(false);
    const xs = Array.from({ length: 40 }, (_, i) => Float64Array.from([i % 2 ? 1 : -1, Math.sin(i), Math.cos(3 * i)]));
    const p = await fitProbe(runtimeFor(await nodeGpu()), xs, xs.map((x) => (x[0] > 0 ? 'yes' : 'no')));
    expect(predictProbe(p, Float64Array.from([0.8, 0, 0]))).toBe('yes');
    expect(predictProbe(p, Float64Array.from([-0.8, 0, 0]))).toBe('no');
  });
});

const root = join(tmpdir(), `latentqa-${process.pid}`);
mkdirSync(root, { recursive: true });
let model: Model;
let codec: ChatCodec;
beforeAll(async () => {
  const files = folderFiles(writeToyVocabModel(root));
  model = await Model.load(await nodeGpu(), files);
  codec = tokenizerCodec((await Tokenizer.load(files))!);
});
afterAll(() => {
  model?.dispose();
  rmSync(root, { recursive: true, force: true });
});

describe('pipeline on a tiny random model', () => {
  const item = () => toyItems(1, 5)[0];

  test('read: the control and BOS are masked out; the rows are the target stream at the stimulus positions', async () => {
    const it = item();
    const p = readPrompt(codec, it);
    const system = codec.encode(codec.render(it.controlMessages, false));
    expect(p.start).toBe(system.length);
    expect(codec.decode(p.ids.slice(p.start))).toBe(codec.decode(codec.encode(`<|user|> ${it.stimulus[0].content} <|end|> <|assistant|>`)));
    const L = defaultReadLayer(model.config.nLayers);
    expect(L).toBe(0); // 2 layers
    const a = await readActivations(model, p, L);
    const D = model.config.hidden;
    expect(a.positions).toEqual(Array.from({ length: p.ids.length - p.start }, (_, i) => p.start + i));
    const full = (await model.forward(p.ids, { hooks: [{ name: readHook(L), op: 'read' }], logits: 'none' })).cache[readHook(L)];
    expect(Array.from(a.acts)).toEqual(Array.from(full.subarray(p.start * D)));
  });

  test('decoder prompt: one placeholder per activation, target position ids there, labels on the answer only', async () => {
    const it = item();
    const p = readPrompt(codec, it);
    const a = await readActivations(model, p, 0);
    const fmt = decoderFormat(codec);
    const qa = it.qa[0];
    const d = decoderPrompt(codec, fmt, a, qa.question, qa.answer);
    const k = a.positions.length;
    expect(d.slots.length).toBe(k);
    expect(d.slots.map((s) => d.ids[s])).toEqual(Array(k).fill(fmt.placeholder));
    expect(d.slots.map((s) => d.positions[s])).toEqual(a.positions);
    expect(d.ids.filter((x) => x === fmt.placeholder).length).toBeGreaterThanOrEqual(k);
    for (let t = 1; t < d.positions.length; t++) expect(d.positions[t]).toBeGreaterThan(d.positions[t - 1]);
    expect(codec.decode(d.ids.slice(0, d.slots[0]))).toBe(''); // "<bos> <|user|>" decode to nothing visible
    const labelled = d.labels.filter((l) => l >= 0);
    expect(codec.decode(labelled)).toBe(qa.answer); // the answer; its end-of-turn token is labelled too but not shown
    expect(labelled.length).toBe(codec.encode(qa.answer).length + 1);
    expect(labelled[labelled.length - 1]).toBe(codec.encode('<|end|>')[0]);
    // Without an answer: the generation prompt, no labels.
    const q = decoderPrompt(codec, fmt, a, qa.question, null);
    expect(q.labels).toEqual([]);
    expect(codec.decode(q.ids.slice(-1))).toBe('');
  });

  test('the patch overwrites block 0 output at the placeholders (zeros for the text-only control), nothing else', async () => {
    const it = item();
    const p = readPrompt(codec, it);
    const a = await readActivations(model, p, 0);
    const d = decoderPrompt(codec, decoderFormat(codec), a, it.qa[0].question, null);
    const D = model.config.hidden;
    const readW = { name: WRITE_HOOK, op: 'read' as const };
    const clean = (await model.forward(d.ids, { positions: d.positions, hooks: [readW], logits: 'none' })).cache[WRITE_HOOK];
    for (const mode of ['patch', 'zero'] as const) {
      const got = (await model.forward(d.ids, { positions: d.positions, hooks: [...patchHooks(d, a, mode), readW], logits: 'none' })).cache[WRITE_HOOK];
      for (let t = 0; t < d.ids.length; t++) {
        const row = Array.from(got.subarray(t * D, (t + 1) * D));
        const i = d.slots.indexOf(t);
        if (i < 0) expect(row).toEqual(Array.from(clean.subarray(t * D, (t + 1) * D)));
        else expect(row).toEqual(mode === 'zero' ? Array(D).fill(0) : Array.from(a.acts.subarray(i * D, (i + 1) * D)));
      }
    }
  });

  test('greedy reading with the KV cache equals argmax of full forwards with the same positions and patch', async () => {
    const it = item();
    const a = await readActivations(model, readPrompt(codec, it), 0);
    const fmt = decoderFormat(codec);
    const lora = LoraAdapter.create(model.parts.rt, model.config, { rank: 4, alpha: 8, targets: ['q_proj', 'down_proj'] }, 3);
    try {
      const got = await answer(model, lora, codec, fmt, a, it.qa[0].question, { maxNewTokens: 4 });
      const d = decoderPrompt(codec, fmt, a, it.qa[0].question, null);
      const ids = [...d.ids];
      const pos = [...d.positions];
      const want: number[] = [];
      for (let s = 0; s < got.ids.length; s++) {
        const r = await model.forward(ids, { positions: pos, hooks: patchHooks({ ...d, ids }, a, 'patch'), logits: 'last', lora });
        const next = r.logits!.indexOf(Math.max(...r.logits!));
        want.push(next);
        ids.push(next);
        pos.push(pos[pos.length - 1] + 1);
      }
      expect(got.ids).toEqual(want);
      expect(got.ids.length).toBeGreaterThan(0);
    } finally {
      lora.destroy();
    }
  });

  test("the decoder's loss on the answer tokens falls on a small training set", async () => {
    const items = toyItems(1, 2).slice(0, 6);
    const reads = await readItems(model, codec, items, 0);
    const fmt = decoderFormat(codec);
    const examples = decoderExamples(codec, fmt, reads).filter((_, i) => i % 5 < 2); // 12 examples
    const settings = decoderSettings(model, { rank: 4, lr: 1e-2, steps: 24, batchSize: 4, seed: 1 });
    expect(settings.lora.targets).toEqual(expect.arrayContaining(['q_proj', 'o_proj', 'down_proj', 'lm_head']));
    const { run, losses } = await trainDecoder(model, examples, settings, 24);
    try {
      const first = losses.slice(0, 3).reduce((x, y) => x + y) / 3;
      const last = losses.slice(-3).reduce((x, y) => x + y) / 3;
      expect(last).toBeLessThan(0.6 * first);
    } finally {
      run.dispose();
    }
  }, 180_000);
});

describe('steering chain', () => {
  test("the target LoRA's seeded gradient equals finite differences of the decoder loss", async () => {
    const rt = model.parts.rt;
    const layer = 0;
    const fmt = decoderFormat(codec);
    const targets = steerTargets(model, layer);
    expect(targets.every((t) => t.startsWith('model.layers.0.'))).toBe(true);
    const target = LoraAdapter.create(rt, model.config, { rank: 2, alpha: 4, targets }, 11);
    const decoder = LoraAdapter.create(rt, model.config, { rank: 2, alpha: 4, targets: ['q_proj', 'v_proj', 'down_proj'] }, 12);
    try {
      // Non-zero B everywhere, so both adapters act.
      for (const [i, m] of [...target.modules.values(), ...decoder.modules.values()].entries()) {
        rt.write(m.B, Float32Array.from({ length: m.outDim * m.rank }, (_, j) => 0.3 * Math.sin(7 * i + 3 * j)));
      }
      const it = toyItems(1, 9)[3];
      const p = readPrompt(codec, { controlMessages: [], stimulus: it.stimulus });
      expect(p.start).toBe(1);
      const qas = it.qa.slice(0, 2);
      const { loss, grad } = await decoderLossAndGrad(model, target, decoder, codec, fmt, p, layer, qas);
      expect(loss).toBeGreaterThan(0);
      const m = target.modules.get('model.layers.0.mlp.up_proj')!;
      const { grads } = await lossGradients(model.parts, seedExample(p, layer, grad), [], target, [{ name: 'B', buf: m.B, n: m.outDim * m.rank }]);
      const g = grads.B;
      const idx = [...g.keys()].sort((x, y) => Math.abs(g[y]) - Math.abs(g[x])).slice(0, 3);
      const base = Float32Array.from({ length: m.outDim * m.rank }, (_, j) => 0.3 * Math.sin(7 * [...target.modules.keys()].indexOf(m.name) + 3 * j));
      const lossAt = async (j: number, delta: number) => {
        const b = base.slice();
        b[j] += delta;
        rt.write(m.B, b);
        return (await decoderLossAndGrad(model, target, decoder, codec, fmt, p, layer, qas)).loss;
      };
      for (const j of idx) {
        const eps = 0.02;
        const fd = ((await lossAt(j, eps)) - (await lossAt(j, -eps))) / (2 * eps);
        expect(Math.abs(g[j])).toBeGreaterThan(1e-3);
        expect(Math.abs(fd - g[j])).toBeLessThan(0.05 * Math.abs(g[j]) + 2e-4);
      }
      rt.write(m.B, base);
    } finally {
      target.destroy();
      decoder.destroy();
    }
  }, 180_000);
});
