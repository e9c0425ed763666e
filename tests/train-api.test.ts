// Training through the worker's API object, in Node on Dawn, with IndexedDB from fake-indexeddb (the same idb
// code the browser runs): streamed progress, pause / resume / cancel between steps, checkpoints that resume to
// the bit-identical adapter, PEFT export → import, adapters in forward/generate, full fine-tuning (HF folder and
// delta export), and Hub loading into the cache.
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeGpu } from '../src/gpu/node';
import { createEngineApi } from '../src/workers/engine-api';
import { CheckpointDb } from '../src/workers/checkpoint-db';
import { IdbStore } from '../src/engine/store-idb';
import type { DownloadProgress, EngineApi, FinetuneProgress, FinetuneRequest, FinetuneState, LoadedModel } from '../src/workers/api';
import { makeTinyModel, tinyModelFiles } from './fixtures/tiny-models';
import { serveHub, type FakeHub } from './helpers/hub-server';
import { parseSafetensors } from '../src/engine/safetensors';

const files = tinyModelFiles(makeTinyModel('llama-gqa', 3));
const blobs = (): Record<string, Blob> => ({
  'config.json': new Blob([files['config.json']]),
  'model.safetensors': new Blob([files['model.safetensors'] as Uint8Array<ArrayBuffer>]),
});

/** A 24-token sequence cut into 3 examples of 8: enough for the data order to matter. */
const IDS = [1, 17, 5, 42, 9, 33, 12, 60, 7, 7, 8, 21, 30, 2, 44, 45, 46, 3, 11, 50, 51, 19, 18, 4];
const REQ: FinetuneRequest = {
  ids: IDS,
  seqLen: 8,
  lora: { rank: 4, alpha: 8, targets: ['q_proj', 'v_proj', 'down_proj', 'lm_head'] },
  train: { lr: 1e-2, maxGradNorm: 1, warmupSteps: 2, schedule: 'cosine' },
  steps: 12,
  batchSize: 2,
  seed: 5,
  checkpointEvery: 3,
};

const newApi = (db: string) => createEngineApi(() => nodeGpu(), { checkpoints: new CheckpointDb(db) });

async function until(api: EngineApi, runId: string, states: FinetuneState[], timeout = 60_000) {
  const t0 = Date.now();
  for (;;) {
    const s = await api.finetuneStatus(runId);
    if (states.includes(s.state)) return s;
    if (s.state === 'error') throw new Error(s.error);
    if (Date.now() - t0 > timeout) throw new Error(`run ${runId} is ${s.state} at step ${s.step}, waited for ${states}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const bytesOf = (f: { 'adapter_model.safetensors': Uint8Array }) => Array.from(f['adapter_model.safetensors']);

let api: EngineApi;
let model: LoadedModel;
/** The uninterrupted run every interrupted one must reproduce. */
let reference: { losses: number[]; adapter: number[]; runId: string };

beforeAll(async () => {
  api = newApi('train-a');
  model = await api.loadModel({ kind: 'local', label: 'tiny', files: blobs() });
  const events: FinetuneProgress[] = [];
  const runId = await api.startFinetune(model.id, REQ, (p) => events.push(p));
  const done = await until(api, runId, ['done']);
  reference = { losses: done.losses, adapter: bytesOf(await api.exportAdapter(runId)), runId };
}, 120_000);

describe('a training run in the worker', () => {
  it('streams every step, learns, and leaves a finished checkpoint', async () => {
    const events: FinetuneProgress[] = [];
    const runId = await api.startFinetune(model.id, { ...REQ, steps: 6 }, (p) => events.push(p));
    const s = await until(api, runId, ['done']);
    await new Promise((r) => setTimeout(r, 20));
    const steps = events.filter((e) => e.state === 'running').map((e) => e.step);
    expect(steps).toEqual([1, 2, 3, 4, 5, 6]);
    expect(events.at(-1)).toMatchObject({ state: 'done', step: 6, steps: 6, checkpointStep: 6 });
    expect(events[0].tokens).toBe(16);
    expect(events[0].tokensPerSec).toBeGreaterThan(0);
    expect(events[0].peakBytes).toBeGreaterThan(0);
    expect(s.losses).toHaveLength(6);
    // The first 6 steps of the 12-step reference differ only by the cosine schedule's length: same first step.
    expect(s.losses[0]).toBe(reference.losses[0]);
    expect(reference.losses.at(-1)!).toBeLessThan(0.8 * reference.losses[0]);
    const rec = (await api.listCheckpoints()).find((c) => c.runId === runId)!;
    expect(rec).toMatchObject({ status: 'done', step: 6, steps: 6, modelKey: 'file:tiny', modelLabel: 'tiny', tokens: 24 });
    expect(rec.losses).toEqual(s.losses);
    expect(rec.bytes).toBeGreaterThan(0);
    expect(structuredClone(rec)).toEqual(rec);
  });

  it('pause stops between steps and checkpoints; resume ends bit-identical to an uninterrupted run', async () => {
    const events: FinetuneProgress[] = [];
    let runId = '';
    let asked = false;
    const paused = new Promise<FinetuneProgress>((ok) => {
      void api
        .startFinetune(model.id, REQ, (p) => {
          events.push(p);
          if (p.step === 2 && p.state === 'running' && !asked) {
            asked = true;
            void api.pauseFinetune(runId).then(ok);
          }
        })
        .then((id) => (runId = id));
    });
    const at = await paused;
    expect(at.state).toBe('paused');
    expect(at.step).toBeGreaterThanOrEqual(2);
    expect(at.step).toBeLessThan(REQ.steps);
    const seen = events.length;
    await new Promise((r) => setTimeout(r, 300));
    expect(events.length).toBe(seen);
    expect((await api.finetuneStatus(runId)).step).toBe(at.step);
    const rec = (await api.listCheckpoints()).find((c) => c.runId === runId)!;
    expect(rec).toMatchObject({ status: 'paused', step: at.step });
    await expect(api.resumeFinetune('nope')).rejects.toThrow(/no training run "nope"/);
    expect((await api.resumeFinetune(runId)).state).toBe('running');
    const done = await until(api, runId, ['done']);
    const steps = events.slice(seen).filter((e) => e.state === 'running').map((e) => e.step);
    expect(steps).toEqual([at.step, ...Array.from({ length: REQ.steps - at.step }, (_, i) => at.step + 1 + i)]);
    expect(done.losses).toEqual(reference.losses);
    expect(bytesOf(await api.exportAdapter(runId))).toEqual(reference.adapter);
    await expect(api.resumeFinetune(runId)).rejects.toThrow(/is done, not paused/);
  });

  it('cancel stops between steps, frees the run and deletes its checkpoint', async () => {
    let runId = '';
    const events: FinetuneProgress[] = [];
    const cancelled = new Promise<void>((ok) => {
      void api
        .startFinetune(model.id, { ...REQ, checkpointEvery: 1 }, (p) => {
          events.push(p);
          if (p.step === 2 && p.state === 'running') void api.cancelFinetune(runId).then(() => ok());
        })
        .then((id) => (runId = id));
    });
    await cancelled;
    await new Promise((r) => setTimeout(r, 50));
    expect(events.at(-1)!.state).toBe('cancelled');
    expect(events.at(-1)!.step).toBeLessThan(REQ.steps);
    await expect(api.finetuneStatus(runId)).rejects.toThrow(/no training run/);
    await expect(api.exportAdapter(runId)).rejects.toThrow(/no training run or adapter/);
    expect((await api.listCheckpoints()).some((c) => c.runId === runId)).toBe(false);
  });

  it('a run interrupted mid-way (as by a page reload) resumes from its last checkpoint in a new worker to the same adapter', async () => {
    let runId = '';
    let copied: Promise<void> | null = null;
    const a = new CheckpointDb('train-a');
    const b = new CheckpointDb('train-b');
    const first = new Promise<void>((ok) => {
      void api
        .startFinetune(model.id, REQ, (p) => {
          // The checkpoint of step 3 is written before step 3 is reported: copy it to "the next page's" database.
          if (p.step === 3 && p.state === 'running' && !copied) {
            copied = a.get(`file:tiny#${runId}`).then((got) => b.save(got!.run, got!.bytes));
            void copied.then(() => api.cancelFinetune(runId)).then(() => ok());
          }
        })
        .then((id) => (runId = id));
    });
    await first;
    const api2 = newApi('train-b');
    const m2 = await api2.loadModel({ kind: 'local', label: 'tiny', files: blobs() });
    const [rec] = await api2.listCheckpoints();
    expect(rec).toMatchObject({ runId, status: 'running', step: 3, steps: 12 });
    expect(rec.losses).toEqual(reference.losses.slice(0, 3));
    const events: FinetuneProgress[] = [];
    const resumed = await api2.resumeFromCheckpoint(m2.id, rec.key, (p) => events.push(p));
    expect(resumed).toBe(runId);
    const done = await until(api2, runId, ['done']);
    expect(events.filter((e) => e.state === 'running').map((e) => e.step)).toEqual([4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(done.losses).toEqual(reference.losses);
    expect(bytesOf(await api2.exportAdapter(runId))).toEqual(reference.adapter);
    expect((await api2.listCheckpoints())[0]).toMatchObject({ runId, status: 'done', step: 12 });
    // A checkpoint resumes only on a model of its shape.
    const other = tinyModelFiles(makeTinyModel('gpt2', 1));
    const m3 = await api2.loadModel({ kind: 'local', label: 'other', files: { 'config.json': new Blob([other['config.json']]), 'model.safetensors': new Blob([other['model.safetensors'] as Uint8Array<ArrayBuffer>]) } });
    await expect(api2.resumeFromCheckpoint(m3.id, rec.key)).rejects.toThrow(/was trained on tiny .*; other is/);
    expect(await api2.deleteCheckpoint(rec.key)).toBe(true);
    expect(await api2.listCheckpoints()).toEqual([]);
  });

  it('a LatentQA record written before the method kit reads as a method run, which the Train page leaves to its page', async () => {
    const c = model.config;
    const info = {
      key: 'file:tiny#legacy', runId: 'legacy', modelKey: 'file:tiny', modelLabel: 'tiny', origin: null, fingerprint: `${c.arch} ${c.nLayers}x${c.hidden} vocab ${c.vocab}`,
      request: { ...REQ, ids: undefined }, tokens: 0, step: 1, steps: 4, status: 'paused' as const, losses: [1], bytes: 4, createdAt: 1, updatedAt: 1,
      latentqa: { steps: 4, data: 'toy' },
    };
    await new CheckpointDb('train-legacy').save({ info, ids: [] }, new Uint8Array(4));
    const legacy = newApi('train-legacy');
    const m = await legacy.loadModel({ kind: 'local', label: 'tiny', files: blobs() });
    const [rec] = await legacy.listCheckpoints();
    expect(rec.method).toEqual({ kind: 'latentqa-decoder', request: { steps: 4, data: 'toy' } });
    await expect(legacy.resumeFromCheckpoint(m.id, rec.key)).rejects.toThrow(/is a LatentQA run: resume it on the LatentQA page/);
    await legacy.dispose(m.id);
  });

  it('exports PEFT files that load back as an adapter with identical logits; forward and generate take either id', async () => {
    const peft = await api.exportAdapter(reference.runId);
    expect(JSON.parse(peft['adapter_config.json'])).toMatchObject({ peft_type: 'LORA', r: 4, lora_alpha: 8, target_modules: REQ.lora.targets, base_model_name_or_path: 'tiny' });
    // As a picked folder: paths under the folder's name, the safetensors as a Blob.
    const loaded = await api.loadAdapter(model.id, {
      'my-adapter/adapter_config.json': new Blob([peft['adapter_config.json']]),
      'my-adapter/adapter_model.safetensors': new Blob([peft['adapter_model.safetensors'] as Uint8Array<ArrayBuffer>]),
    });
    expect(loaded).toMatchObject({ modelId: model.id, label: 'my-adapter', rank: 4, alpha: 8, modules: 2 * 3 + 1 });
    const ids = IDS.slice(0, 8);
    const base = await api.forward(model.id, ids, { logits: 'all' });
    const viaRun = await api.forward(model.id, ids, { logits: 'all', adapter: reference.runId });
    const viaFile = await api.forward(model.id, ids, { logits: 'all', adapter: loaded.id });
    expect(Array.from(viaFile.logits)).toEqual(Array.from(viaRun.logits));
    expect(Array.from(viaFile.logits)).not.toEqual(Array.from(base.logits));
    const g1 = await api.generate(model.id, [1, 17], { maxNewTokens: 6, stop: [], adapter: reference.runId });
    const g2 = await api.generate(model.id, [1, 17], { maxNewTokens: 6, stop: [], adapter: loaded.id });
    expect(g2.ids).toEqual(g1.ids);
    await api.disposeAdapter(loaded.id);
    await expect(api.forward(model.id, ids, { adapter: loaded.id })).rejects.toThrow(/no training run or adapter "a1"/);
    await expect(api.loadAdapter(model.id, { 'adapter_config.json': '{"peft_type":"PREFIX_TUNING"}' })).rejects.toThrow(/only LORA/);
  });

  it('unloading the model pauses its run into a checkpoint and closes it; the checkpoint resumes on the model loaded again', async () => {
    const api4 = newApi('train-c');
    const m = await api4.loadModel({ kind: 'local', label: 'tiny', files: blobs() });
    const events: FinetuneProgress[] = [];
    let runId = '';
    const stepped = new Promise<void>((ok) => {
      void api4.startFinetune(m.id, REQ, (p) => (events.push(p), p.step === 2 && ok())).then((id) => (runId = id));
    });
    await stepped;
    await api4.dispose(m.id);
    await new Promise((r) => setTimeout(r, 20));
    expect(events.at(-1)!.state).toBe('closed');
    const [rec] = await api4.listCheckpoints();
    expect(rec).toMatchObject({ runId, status: 'paused' });
    expect(rec.step).toBe(events.at(-1)!.step);
    const again = await api4.loadModel({ kind: 'local', label: 'tiny', files: blobs() });
    await api4.resumeFromCheckpoint(again.id, rec.key);
    expect((await until(api4, runId, ['done'])).losses).toEqual(reference.losses);
  });

  it('rejects bad requests with messages that say what is wrong', async () => {
    await expect(api.startFinetune(model.id, { ...REQ, steps: 0 })).rejects.toThrow(/steps must be a positive integer/);
    await expect(api.startFinetune(model.id, { ...REQ, ids: [1, 99] })).rejects.toThrow(/token id 99 is outside the vocabulary/);
    await expect(api.startFinetune(model.id, { ...REQ, ids: undefined, text: 'w1 w2' })).rejects.toThrow(/tiny has no tokenizer\.json/);
    await expect(api.startFinetune(model.id, { ...REQ, lora: { ...REQ.lora, targets: ['nothing'] } })).rejects.toThrow(/match no module/);
  });
});

describe('full fine-tuning through the worker', () => {
  it('trains the model weights in place, exports an HF folder that loads with identical logits and the delta; cancel puts the base back', async () => {
    const apiF = newApi('train-full');
    const m = await apiF.loadModel({ kind: 'local', label: 'tiny', files: blobs() });
    const ids = IDS.slice(0, 8);
    const base = await apiF.forward(m.id, ids, { logits: 'all' });
    const weights = ['layers.1.mlp.*', 'model.norm.weight'];
    const runId = await apiF.startFinetune(m.id, { ...REQ, steps: 4, full: { weights } });
    const done = await until(apiF, runId, ['done']);
    expect(done.losses).toHaveLength(4);
    const trained = await apiF.forward(m.id, ids, { logits: 'all' });
    expect(Array.from(trained.logits)).not.toEqual(Array.from(base.logits));
    const folder = await apiF.exportModel(runId);
    expect(Object.keys(folder).sort()).toEqual(['config.json', 'model.safetensors']);
    const asBlobs = Object.fromEntries(Object.entries(folder).map(([k, v]) => [k, new Blob([v as Uint8Array<ArrayBuffer>])]));
    const saved = await apiF.loadModel({ kind: 'local', label: 'saved', files: asBlobs });
    expect(Array.from((await apiF.forward(saved.id, ids, { logits: 'all' })).logits)).toEqual(Array.from(trained.logits));
    const delta = parseSafetensors(await apiF.exportDelta(runId));
    const mlp = ['gate_proj', 'up_proj', 'down_proj'].map((p) => `model.layers.1.mlp.${p}.weight`);
    expect([...delta.tensors.keys()].sort()).toEqual([...mlp, 'model.norm.weight'].sort());
    await expect(apiF.exportAdapter(runId)).rejects.toThrow(/is full fine-tuning.*exportModel/);
    await expect(apiF.startFinetune(m.id, { ...REQ, full: { weights: ['*'] } })).rejects.toThrow(/already fine-tunes the weights of tiny/);
    await expect(apiF.startFinetune(saved.id, { ...REQ, full: { weights: 'mlp' as never } })).rejects.toThrow(/full.weights must be a list of weight-name patterns/);
    await apiF.cancelFinetune(runId);
    expect(Array.from((await apiF.forward(m.id, ids, { logits: 'all' })).logits)).toEqual(Array.from(base.logits));
  });
});

describe('Hub models through the worker (IndexedDB cache)', () => {
  let hub: FakeHub;
  beforeAll(async () => {
    hub = await serveHub({ 'test/tiny': { files: { 'config.json': new TextEncoder().encode(files['config.json']), 'model.safetensors': files['model.safetensors'] } } });
  });
  afterAll(() => hub?.close());

  it('downloads with progress, caches, lists, reloads with no request, and deletes', async () => {
    const api3 = createEngineApi(() => nodeGpu(), { modelStore: () => new IdbStore('hub-cache-test') });
    const seen: DownloadProgress[] = [];
    const m = await api3.loadModel({ kind: 'hub', repo: 'test/tiny', baseUrl: hub.url }, { dtype: 'f32' }, (p) => seen.push(p));
    expect(m).toMatchObject({ label: 'test/tiny@main', origin: { kind: 'hub', repo: 'test/tiny', revision: 'main', baseUrl: hub.url } });
    await new Promise((r) => setTimeout(r, 10));
    const total = files['config.json'].length + files['model.safetensors'].length;
    expect(seen.at(-1)).toMatchObject({ loaded: total, total });
    expect(seen.some((p) => p.file === 'model.safetensors' && p.fileTotal === files['model.safetensors'].length)).toBe(true);
    expect(await api3.cachedModels()).toEqual([{ key: 'test/tiny@main', repo: 'test/tiny', revision: 'main', bytes: total, complete: true }]);
    const mark = hub.requests.length;
    const again = await api3.loadModel({ kind: 'hub', repo: 'test/tiny', baseUrl: hub.url });
    expect(hub.requests.length).toBe(mark);
    const ids = [1, 5, 9];
    expect(Array.from((await api3.forward(again.id, ids)).logits)).toEqual(Array.from((await api.forward(model.id, ids)).logits));
    expect(await api3.deleteCachedModel('test/tiny@main')).toBe(true);
    expect(await api3.cachedModels()).toEqual([]);
    // Cancelled after the first file: the load fails saying so, and what came is kept for a resume.
    let cancelled = false;
    const failed = api3.loadModel({ kind: 'hub', repo: 'test/tiny', baseUrl: hub.url }, {}, () => {
      if (!cancelled) void api3.cancelLoad();
      cancelled = true;
    });
    await expect(failed).rejects.toThrow(/download of test\/tiny cancelled/);
    await api3.clearCachedModels();
    expect(await api3.cachedModels()).toEqual([]);
    await expect(api3.loadModel({ kind: 'hub', repo: 'test/absent', baseUrl: hub.url })).rejects.toThrow(/test\/absent/);
  });
});
