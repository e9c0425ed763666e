// Hub ids end to end against a local Hub-layout server: single-file and sharded models, gated repos, 404s,
// progress, cancellation, resume after a dropped connection, quota exceeded, and a second load from the
// folder cache that sends no request at all.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdtempSync, readFileSync, truncateSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeGpu } from '../src/gpu/node';
import { Model } from '../src/engine/model';
import { folderFiles } from '../src/engine/files-node';
import { hubModelFiles, type Progress } from '../src/engine/download';
import { FolderStore } from '../src/engine/store-node';
import { parseHubId } from '../src/engine/hub';
import { writeSafetensors } from '../src/engine/safetensors';
import { makeTinyModel, writeTinyModel } from './fixtures/tiny-models';
import { serveHub, type FakeHub } from './helpers/hub-server';

const STORIES = fileURLToPath(new URL('../../shared/models/stories260K', import.meta.url));
const enc = (x: unknown) => new TextEncoder().encode(JSON.stringify(x));

/** A tiny model split over two shards with an index, as large Hub models are. */
function shardedFiles(): Record<string, Uint8Array> {
  const m = makeTinyModel('llama-gqa');
  const names = Object.keys(m.tensors);
  const half = Math.ceil(names.length / 2);
  const shards = [names.slice(0, half), names.slice(half)];
  const files: Record<string, Uint8Array> = { 'config.json': enc(m.configJson) };
  const weightMap: Record<string, string> = {};
  shards.forEach((group, i) => {
    const file = `model-0000${i + 1}-of-00002.safetensors`;
    files[file] = writeSafetensors(Object.fromEntries(group.map((n) => [n, m.tensors[n]])));
    for (const n of group) weightMap[n] = file;
  });
  files['model.safetensors.index.json'] = enc({ metadata: {}, weight_map: weightMap });
  return files;
}

const storiesFiles = () => ({
  'config.json': new Uint8Array(readFileSync(join(STORIES, 'config.json'))),
  'model.safetensors': new Uint8Array(readFileSync(join(STORIES, 'model.safetensors'))),
});

describe('Hub ids', () => {
  let hub: FakeHub;
  const fresh = () => new FolderStore(mkdtempSync(join(tmpdir(), 'latentlab-cache-')));
  beforeAll(async () => {
    hub = await serveHub({
      'test/stories260K': { files: storiesFiles() },
      'test/sharded': { files: shardedFiles() },
      'test/gated': { files: storiesFiles(), token: 'hf_secret' },
      'test/no-weights': { files: { 'config.json': storiesFiles()['config.json'] } },
      'test/pinned': { files: storiesFiles(), revision: 'v1.0' },
    });
  });
  afterAll(() => hub.close());

  test('ids parse with an optional revision; paths and .gguf files are not ids', () => {
    expect(parseHubId('HuggingFaceTB/SmolLM2-135M-Instruct')).toEqual({ repo: 'HuggingFaceTB/SmolLM2-135M-Instruct', revision: undefined });
    expect(parseHubId('Qwen/Qwen2.5-0.5B@refs/pr/1')).toEqual({ repo: 'Qwen/Qwen2.5-0.5B', revision: 'refs/pr/1' });
    expect(parseHubId('./models/x')).toBeNull();
    expect(parseHubId('/abs/path')).toBeNull();
    expect(parseHubId('a/b.gguf')).toBeNull();
  });

  test('downloads with progress, generates as the folder does, and loads a second time without a request', async () => {
    const store = fresh();
    const events: Progress[] = [];
    const files = await hubModelFiles('test/stories260K', { baseUrl: hub.url, store, onProgress: (p) => events.push(p) });
    const gpu = await nodeGpu();
    const model = await Model.load(gpu, files, { dtype: 'f32' });
    const local = await Model.load(gpu, folderFiles(STORIES), { dtype: 'f32' });
    expect(await model.generate([1], { maxNewTokens: 30, stop: [] })).toEqual(await local.generate([1], { maxNewTokens: 30, stop: [] }));
    model.dispose();
    local.dispose();

    const last = events[events.length - 1];
    const size = readFileSync(join(STORIES, 'model.safetensors')).length + readFileSync(join(STORIES, 'config.json')).length;
    expect(last.total).toBe(size);
    expect(last.loaded).toBe(size);
    expect(events.every((e, i) => i === 0 || e.loaded >= events[i - 1].loaded)).toBe(true);
    expect(events.some((e) => e.file === 'model.safetensors' && e.fileLoaded > 0 && e.fileLoaded < e.fileTotal)).toBe(true);

    const before = hub.requests.length;
    const again = await hubModelFiles('test/stories260K', { baseUrl: hub.url, store });
    const m2 = await Model.load(gpu, again, { dtype: 'q8' });
    expect(hub.requests.length).toBe(before);
    m2.dispose();
    expect((await store.list()).map((s) => [s.key, s.complete, s.bytes])).toEqual([['test/stories260K@main', true, size]]);
  });

  test('a sharded model (index + two shards) gives the logits of the same model from a folder', async () => {
    const store = fresh();
    const gpu = await nodeGpu();
    const model = await Model.load(gpu, await hubModelFiles('test/sharded', { baseUrl: hub.url, store }), { dtype: 'f32' });
    const local = await Model.load(gpu, folderFiles(writeTinyModel('llama-gqa')), { dtype: 'f32' });
    expect(Array.from((await model.forward([3, 4, 5])).logits!)).toEqual(Array.from((await local.forward([3, 4, 5])).logits!));
    model.dispose();
    local.dispose();
    expect(hub.requests.some((r) => r.path.endsWith('model-00002-of-00002.safetensors'))).toBe(true);
  });

  test('a revision is part of the URL and of the cache key', async () => {
    const store = fresh();
    await expect(hubModelFiles('test/pinned', { baseUrl: hub.url, store })).rejects.toThrow(/test\/pinned: not found on the Hub .*revision "main"/);
    const files = await hubModelFiles('test/pinned', { baseUrl: hub.url, store, revision: 'v1.0' });
    expect(files.label).toBe('test/pinned@v1.0');
    expect((await store.list()).filter((s) => s.complete).map((s) => s.key)).toEqual(['test/pinned@v1.0']);
  });

  test('a gated model without a token says so and how to give one; with the token it loads', async () => {
    const store = fresh();
    await expect(hubModelFiles('test/gated', { baseUrl: hub.url, store })).rejects.toThrow(/test\/gated: HTTP 401 for config\.json \(the Hub says: Access to model test\/gated is restricted\..*\): the model is gated or private .* --token or the HF_TOKEN/);
    await expect(hubModelFiles('test/gated', { baseUrl: hub.url, store, token: 'wrong' })).rejects.toThrow(/refused the access token \(HTTP 401\)/);
    const files = await hubModelFiles('test/gated', { baseUrl: hub.url, store, token: 'hf_secret' });
    expect(await files.read('config.json')).not.toBeNull();
  });

  test('an unreachable Hub is named, with where to look', async () => {
    const closed = await serveHub({});
    const url = closed.url;
    await closed.close();
    await expect(hubModelFiles('test/stories260K', { baseUrl: url, store: fresh() })).rejects.toThrow(/test\/stories260K: could not reach the Hub at http:\/\/127\.0\.0\.1:\d+\/test\/stories260K\/resolve\/main\/config\.json \(.*\); check the network or the Hub URL/);
  });

  test('a repo without safetensors weights is named as such', async () => {
    await expect(hubModelFiles('test/no-weights', { baseUrl: hub.url, store: fresh() })).rejects.toThrow(/neither model\.safetensors nor model\.safetensors\.index\.json/);
  });

  test('a dropped connection keeps the bytes so far; the next load resumes with a Range request', async () => {
    const store = fresh();
    hub.dropOnce('model.safetensors', 300_000);
    await expect(hubModelFiles('test/stories260K', { baseUrl: hub.url, store })).rejects.toThrow(/network dropped while downloading model\.safetensors after \d+ of 1044992 bytes.*run again to resume/);
    const kept = await store.partialSize('test/stories260K@main', 'model.safetensors');
    expect(kept).toBeGreaterThan(0);
    expect((await store.list())[0].complete).toBe(false);
    const mark = hub.requests.length;
    const files = await hubModelFiles('test/stories260K', { baseUrl: hub.url, store });
    const gets = hub.requests.slice(mark).filter((r) => r.method === 'GET' && r.path.endsWith('model.safetensors'));
    expect(gets).toEqual([{ method: 'GET', path: '/test/stories260K/resolve/main/model.safetensors', range: `bytes=${kept}-` }]);
    expect(Buffer.from((await files.read('model.safetensors'))!).equals(readFileSync(join(STORIES, 'model.safetensors')))).toBe(true);
  });

  test('cancelling with an AbortSignal stops the download and keeps nothing complete', async () => {
    const store = fresh();
    const ctl = new AbortController();
    const run = hubModelFiles('test/stories260K', {
      baseUrl: hub.url,
      store,
      signal: ctl.signal,
      onProgress: (p) => p.file === 'model.safetensors' && p.fileLoaded > 0 && ctl.abort(),
    });
    await expect(run).rejects.toThrow(/download of test\/stories260K cancelled/);
    expect(await store.manifest('test/stories260K@main')).toBeNull();
    expect(await store.size('test/stories260K@main', 'model.safetensors')).toBeNull();
  });

  test('a damaged cached file is found before use and fetched again', async () => {
    const store = fresh();
    await hubModelFiles('test/stories260K', { baseUrl: hub.url, store });
    const file = join(store.root, 'test--stories260K@main', 'model.safetensors');
    truncateSync(file, 5000);
    const mark = hub.requests.length;
    const files = await hubModelFiles('test/stories260K', { baseUrl: hub.url, store });
    expect(hub.requests.slice(mark).some((r) => r.method === 'GET' && r.path.endsWith('model.safetensors'))).toBe(true);
    expect((await files.read('model.safetensors'))!.length).toBe(1044992);
  });

  test('quota exceeded: a clear message and no partial entry left', async () => {
    const inner = fresh();
    const store = Object.assign(Object.create(inner), {
      append: async (key: string, path: string, at: number, bytes: Uint8Array) => {
        if (path === 'model.safetensors') throw Object.assign(new Error('The quota has been exceeded.'), { name: 'QuotaExceededError' });
        return inner.append(key, path, at, bytes);
      },
    }) as FolderStore;
    await expect(hubModelFiles('test/stories260K', { baseUrl: hub.url, store })).rejects.toThrow(/storage quota exceeded while caching it .*nothing of it was kept/);
    expect(await inner.list()).toEqual([]);
    expect(existsSync(join(inner.root, 'test--stories260K@main'))).toBe(false);
  });
});
