// The LatentQA worker API (src/workers/latentqa-api.ts) in Node on the shipped toy-s, served over HTTP as the app
// serves it: the decoder beside the model is found and checked against the weights' sha256, a reading streams and
// equals the CLI's, and the positive-review steering example is measured (skipped when toy-s or its decoder is absent).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeGpu } from '../src/gpu/node';
import { createEngineApi } from '../src/workers/engine-api';
import type { EngineApi } from '../src/workers/api';
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
  let id: string;
  const tmp = mkdtempSync(join(tmpdir(), 'lqa-api-'));

  beforeAll(async () => {
    // A second copy of the decoder whose latentqa.json names other weights.
    const meta = JSON.parse(readFileSync(join(MODELS, 'toy-s-latentqa/latentqa.json'), 'utf8'));
    writeFileSync(join(tmp, 'latentqa.json'), JSON.stringify({ ...meta, modelSha256: '0'.repeat(64) }));
    server = await serveStatic(MODELS, { '/other/toy-s/': join(MODELS, 'toy-s/'), '/other/toy-s-latentqa/latentqa.json': join(tmp, 'latentqa.json') });
    api = createEngineApi(() => nodeGpu());
    id = (await api.loadModel({ kind: 'url', baseUrl: `${server.url}toy-s/` })).id;
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('finds the shipped decoder and refuses one trained for other weights', async () => {
    const st = await api.lqaOpen(id);
    expect(st.decoder).toMatchObject({ source: 'shipped', url: `${server.url}toy-s-latentqa/`, layer: 1, steps: 150 });
    expect(st.presets.systems[0].heldOut).toBe(true);
    expect(st.presets.questions).toContain('How does the assistant start its replies ?');
    expect(st.steerExamples).toEqual(expect.arrayContaining(['sentiment:positive', 'persona:chef']));
    const other = (await api.loadModel({ kind: 'url', baseUrl: `${server.url}other/toy-s/` })).id;
    const bad = await api.lqaOpen(other);
    expect(bad.decoder).toBe(null);
    expect(bad.note).toMatch(/trained for other weights/);
    await expect(api.lqaRead(other, { system: 'You are a pirate .', user: 'Hello !', question: 'What persona does the assistant have ?' })).rejects.toThrow(/other weights/);
    await api.dispose(other);
  }, 60_000);

  test('toy-m: its shipped decoder once there is one, else the page is told to train', async () => {
    const m = (await api.loadModel({ kind: 'url', baseUrl: `${server.url}toy-m/` })).id;
    const st = await api.lqaOpen(m);
    if (existsSync(join(MODELS, 'toy-m-latentqa/latentqa.json'))) expect(st.decoder?.source).toBe('shipped');
    else expect(st.note).toMatch(/no decoder at .*toy-m-latentqa\/ for .*: train one below/);
    await api.dispose(m);
  }, 60_000);

  test('reads the held-out pirate as the CLI does, streaming each column', async () => {
    const seen: string[] = [];
    const r = await api.lqaRead(id, { system: 'You are a pirate .', user: 'Hello !', question: 'How does the assistant start its replies ?' }, (c, t) => seen.push(`${c}:${t}`));
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
    const r = await api.lqaSteer(id, { example: 'sentiment:positive', steps: 12, generations: 4 }, (_s, l) => void losses.push(l));
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
});
