// LatentQA through the worker API (EngineApi.method running src/methods/latentqa/method.ts) in Node on the shipped toy-s, served over HTTP as the app
// serves it: the decoder beside the model is found and checked against the weights' sha256, a reading streams and
// equals the CLI's, decoder training pauses, resumes and continues from its IndexedDB checkpoint (fake-indexeddb, the
// same idb code the browser runs) to the same decoder as an uninterrupted run, reading and training work on q8
// weights, and the positive-review steering example is measured (skipped when toy-s or its decoder is absent).
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeGpu } from '../src/gpu/node';
import { createEngineApi } from '../src/workers/engine-api';
import type { EngineApi, FinetuneProgress, FinetuneState } from '../src/workers/api';
import { CheckpointDb } from '../src/workers/checkpoint-db';
import { methodClient } from '../src/workers/method-client';
import type LatentQa from '../src/methods/latentqa/method';
import { polarity, verdict } from '../src/methods/latentqa/steer-examples';
import { serveStatic, type StaticServer } from './e2e/harness/server';

const MODELS = 'public/models';
const shipped = existsSync(join(MODELS, 'toy-s/config.json')) && existsSync(join(MODELS, 'toy-s-latentqa/latentqa.json'));

test('sentiment scores: the verdict the model writes, and lexicon words with negation', () => {
  expect(verdict('not perfect . Sentiment : negative .')).toBe('negative');
  expect(verdict('great . Sentiment : positive .')).toBe('positive');
  expect(verdict('great great great')).toBe(null);
  expect(polarity('The food was great . The staff was not rude .')).toBe(2);
  expect(polarity('The food was not great . The bed was dirty .')).toBe(-2);
});

describe.skipIf(!shipped)('LatentQA worker API on toy-s', () => {
  let server: StaticServer;
  let api: EngineApi;
  let lqa: ReturnType<typeof methodClient<typeof LatentQa>>;
  let id: string;
  const tmp = mkdtempSync(join(tmpdir(), 'lqa-api-'));

  beforeAll(async () => {
    // A second copy of the decoder whose latentqa.json names other weights.
    const meta = JSON.parse(readFileSync(join(MODELS, 'toy-s-latentqa/latentqa.json'), 'utf8'));
    writeFileSync(join(tmp, 'latentqa.json'), JSON.stringify({ ...meta, modelSha256: '0'.repeat(64) }));
    server = await serveStatic(MODELS, { '/other/toy-s/': join(MODELS, 'toy-s/'), '/other/toy-s-latentqa/latentqa.json': join(tmp, 'latentqa.json') });
    api = createEngineApi(() => nodeGpu(), { checkpoints: new CheckpointDb('lqa-api') });
    lqa = methodClient<typeof LatentQa>(api, 'latentqa');
    id = (await api.loadModel({ kind: 'url', baseUrl: `${server.url}toy-s/` })).id;
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('finds the shipped decoder and refuses one trained on other weights', async () => {
    const st = await lqa.open(id, {});
    expect(st.decoder).toMatchObject({ source: 'shipped', url: `${server.url}toy-s-latentqa/`, layer: 1, steps: 150 });
    expect(st.presets.systems[0].heldOut).toBe(true);
    expect(st.presets.questions).toContain('How does the assistant start its replies ?');
    expect(st.steerExamples).toEqual(expect.arrayContaining(['sentiment:positive', 'persona:chef']));
    const other = (await api.loadModel({ kind: 'url', baseUrl: `${server.url}other/toy-s/` })).id;
    const bad = await lqa.open(other, {});
    expect(bad.decoder).toBe(null);
    expect(bad.note).toMatch(/trained on other weights/);
    await expect(lqa.read(other, { system: 'You are a pirate .', user: 'Hello !', question: 'What persona does the assistant have ?' })).rejects.toThrow(/other weights/);
    await api.dispose(other);
  }, 60_000);

  test('toy-m: its shipped decoder once there is one, else the page is told to train', async () => {
    const m = (await api.loadModel({ kind: 'url', baseUrl: `${server.url}toy-m/` })).id;
    const st = await lqa.open(m, {});
    if (existsSync(join(MODELS, 'toy-m-latentqa/latentqa.json'))) expect(st.decoder?.source).toBe('shipped');
    else expect(st.note).toMatch(/no decoder at .*toy-m-latentqa\/ for .*: train one below/);
    await api.dispose(m);
  }, 60_000);

  test('reads the held-out pirate as the CLI does, streaming each column', async () => {
    const seen: string[] = [];
    const r = await lqa.read(id, { system: 'You are a pirate .', user: 'Hello !', question: 'How does the assistant start its replies ?' }, (p) => void seen.push(`${p.stage}:${p.detail}`));
    // The README's example (`latentqa read`): the decoder says the marker, the text-only control a training persona's.
    expect(r.decoded).toBe('With Arr .');
    expect(r.textOnly).toBe('With Bloom .');
    expect(r.reply).toMatch(/^Arr !/);
    expect(r.activations).toBe(5);
    await new Promise((ok) => setTimeout(ok, 50));
    expect(seen).toContain('decoded:With Arr .');
    expect(seen.filter((s) => s.startsWith('reply:')).length).toBeGreaterThan(2);
  }, 60_000);

  test('steering toward positive reviews: decoder loss falls; the verdicts are measured', async () => {
    const losses: number[] = [];
    const r = await lqa.steer(id, { example: 'sentiment:positive', steps: 12, generations: 4 }, (p) => void losses.push((p.detail as { loss: number }).loss));
    console.log(JSON.stringify(r));
    expect(r.losses).toHaveLength(12);
    expect(r.losses[11]).toBeLessThan(0.8 * r.losses[0]);
    // Before steering toy-s continues every negative opening negatively and says so itself.
    expect(r.before.every((t) => verdict(t) === 'negative')).toBe(true);
    const [verdicts, words] = r.scores;
    expect(verdicts.before).toBe(0);
    expect(words.before).toBe(-1); // "not perfect"
    // After 12 steps (measured: 4 of 4 "Sentiment : positive", though the clause reads "not friendly positive").
    expect(verdicts.after).toBeGreaterThan(verdicts.before);
  }, 120_000);

  /** A training run's progress events, and a promise of the first in one of `states`. */
  const watch = () => {
    const events: FinetuneProgress[] = [];
    const waiters: { states: FinetuneState[]; ok: (p: FinetuneProgress) => void }[] = [];
    const on = (p: FinetuneProgress) => {
      events.push(p);
      waiters.filter((w) => w.states.includes(p.state)).forEach((w) => w.ok(p));
      if (p.state === 'error') throw new Error(p.error);
    };
    const until = (...states: FinetuneState[]) => new Promise<FinetuneProgress>((ok) => waiters.push({ states, ok }));
    // By step: resuming repeats the paused step's event.
    const losses = () => events.filter((e) => e.state === 'running').reduce((l: number[], e) => ((l[e.step - 1] = e.loss), l), []).filter(Number.isFinite);
    return { events, on, until, losses };
  };
  const TRAIN = { steps: 4, seed: 3, checkpointEvery: 2 };
  /** A decoder training run whose progress (the run's FinetuneProgress, as detail) goes to `on`. */
  const train = (m: string, req: typeof TRAIN, on: (p: FinetuneProgress) => void) => lqa.train(m, req, (p) => void (p.stage === 'train' && on(p.detail as FinetuneProgress)));
  const decoderBytes = async (m: string) => Array.from((await lqa.exportDecoder(m, {}))['adapter_model.safetensors'] as Uint8Array);
  let reference: { losses: number[]; bytes: number[] };

  test('training: an uninterrupted run becomes the decoder in use and leaves no checkpoint', async () => {
    const w = watch();
    const { runId, examples } = await train(id, TRAIN, w.on);
    expect(examples).toBe(160); // 32 training personas × 1 chat × 5 QA pairs
    const done = await w.until('done');
    expect(done).toMatchObject({ runId, step: 4, steps: 4 });
    expect(w.events.filter((e) => e.state === 'running').map((e) => e.step)).toEqual([1, 2, 3, 4]);
    reference = { losses: w.losses(), bytes: await decoderBytes(id) };
    expect(reference.losses[3]).toBeLessThan(reference.losses[0]);
    expect((await lqa.open(id, {})).decoder).toMatchObject({ source: 'trained here', steps: 4 });
    expect((await api.listCheckpoints()).filter((c) => c.runId === runId)).toEqual([]);
  }, 120_000);

  test('training: paused after step 1 and resumed, the same losses and decoder', async () => {
    const w = watch();
    const { runId } = await train(id, TRAIN, w.on);
    // Asked while step 1 runs: the run stops after it and checkpoints.
    const paused = await api.pauseFinetune(runId);
    expect(paused).toMatchObject({ state: 'paused', step: 1, checkpointStep: 1 });
    const rec = (await api.listCheckpoints()).find((c) => c.runId === runId)!;
    expect(rec).toMatchObject({ status: 'paused', step: 1, method: { kind: 'latentqa-decoder', request: { ...TRAIN, data: 'toy', perControl: 1 } } });
    await api.resumeFinetune(runId);
    await w.until('done');
    expect(w.losses()).toEqual(reference.losses);
    expect(await decoderBytes(id)).toEqual(reference.bytes);
  }, 120_000);

  test('training: resumed from its IndexedDB checkpoint on the model loaded again, the same losses and decoder', async () => {
    const first = (await api.loadModel({ kind: 'url', baseUrl: `${server.url}toy-s/` })).id;
    const w = watch();
    let runId = '';
    // Paused at step 2 (the periodic checkpoint's step), then the model goes as on a page reload.
    ({ runId } = await train(first, TRAIN, (p) => {
      w.on(p);
      if (p.state === 'running' && p.step === 2) void api.pauseFinetune(runId);
    }));
    await w.until('paused');
    await api.dispose(first);
    const rec = (await api.listCheckpoints()).find((c) => c.runId === runId)!;
    expect(rec).toMatchObject({ status: 'paused', step: 2, steps: 4 });
    const again = (await api.loadModel({ kind: 'url', baseUrl: `${server.url}toy-s/` })).id;
    // The Train page's resume refuses it.
    await expect(api.resumeFromCheckpoint(again, rec.key)).rejects.toThrow(/LatentQA run: resume it on the LatentQA page/);
    const r = watch();
    expect(await lqa.resumeTraining(again, { key: rec.key }, (p) => void (p.stage === 'train' && r.on(p.detail as FinetuneProgress)))).toEqual({ runId, examples: 160 });
    await r.until('done');
    expect(r.events.filter((e) => e.state === 'running').map((e) => e.step)).toEqual([3, 4]);
    expect([...w.losses(), ...r.losses()]).toEqual(reference.losses);
    expect(await decoderBytes(again)).toEqual(reference.bytes);
    await api.dispose(again);
  }, 120_000);

  test('q8 weights: the shipped decoder reads; a training step and a steering step run (gradients through the packed weights)', async () => {
    const q8 = await api.loadModel({ kind: 'url', baseUrl: `${server.url}toy-s/` }, { dtype: 'q8' });
    expect(q8.dtype).toBe('q8');
    expect((await lqa.open(q8.id, {})).decoder?.source).toBe('shipped');
    const r = await lqa.read(q8.id, { system: 'You are a pirate .', user: 'Hello !', question: 'How does the assistant start its replies ?' });
    console.log('q8 reading', JSON.stringify(r));
    expect(r.decoded).toBe('With Arr .'); // as f32 (measured)
    expect(r.activations).toBe(5);
    const w = watch();
    await train(q8.id, { ...TRAIN, steps: 1 }, w.on);
    const done = await w.until('done');
    expect(done.step).toBe(1);
    expect(Number.isFinite(w.losses()[0])).toBe(true);
    // Near the f32 model's first loss (same seed and examples; q8 rounds the frozen weights).
    expect(Math.abs(w.losses()[0] - reference.losses[0])).toBeLessThan(0.05 * reference.losses[0]);
    expect((await lqa.open(q8.id, {})).decoder).toMatchObject({ source: 'trained here', steps: 1 });
    // Steering too: the target's LoRA learns through the frozen q8 decoder and target.
    const st = await lqa.steer(q8.id, { example: 'persona:chef', steps: 1, generations: 1, maxNewTokens: 4 });
    expect(st.losses).toHaveLength(1);
    expect(Number.isFinite(st.losses[0])).toBe(true);
    await api.dispose(q8.id);
  }, 120_000);
});
