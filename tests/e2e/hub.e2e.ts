// Hub loading in Chromium with real IndexedDB and WebGPU (SwiftShader): a page built from the engine's loader
// downloads from a local Hub-layout server, caches in IndexedDB, and the second load sends no request.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './harness/browser';
import { serveStatic, type StaticServer } from './harness/server';
import { serveHub, type FakeHub } from '../helpers/hub-server';
import { loadRefModel, referenceForward, referenceGreedy } from '../reference/reference';
import { makeTinyModel, writeTinyModel } from '../fixtures/tiny-models';
import { writeSafetensors } from '../../src/engine/safetensors';
import { expectClose } from '../helpers/close';

const STORIES = fileURLToPath(new URL('../../../shared/models/stories260K', import.meta.url));
const PAGE = fileURLToPath(new URL('./hub/', import.meta.url));
const enc = (x: unknown) => new TextEncoder().encode(JSON.stringify(x));

function sharded(): Record<string, Uint8Array> {
  const m = makeTinyModel('llama-gqa');
  const names = Object.keys(m.tensors);
  const files: Record<string, Uint8Array> = { 'config.json': enc(m.configJson) };
  const map: Record<string, string> = {};
  [names.slice(0, 5), names.slice(5)].forEach((group, i) => {
    const f = `model-0000${i + 1}-of-00002.safetensors`;
    files[f] = writeSafetensors(Object.fromEntries(group.map((n) => [n, m.tensors[n]])));
    group.forEach((n) => (map[n] = f));
  });
  files['model.safetensors.index.json'] = enc({ weight_map: map });
  return files;
}

describe('Hub ids in the browser (IndexedDB cache)', () => {
  let browser: Browser;
  let page: Page;
  let site: StaticServer;
  let hub: FakeHub;
  const call = <T>(fn: string, ...args: unknown[]): Promise<T> =>
    page.evaluate(([f, a]) => (window as any).hub[f as string](...(a as unknown[])), [fn, args] as const) as Promise<T>;

  beforeAll(async () => {
    const out = mkdtempSync(join(tmpdir(), 'latentlab-hub-page-'));
    await build({ root: PAGE, configFile: false, logLevel: 'warn', base: './', build: { outDir: out, emptyOutDir: true, target: 'es2022' } });
    site = await serveStatic(out);
    const stories = { 'config.json': new Uint8Array(readFileSync(join(STORIES, 'config.json'))), 'model.safetensors': new Uint8Array(readFileSync(join(STORIES, 'model.safetensors'))) };
    const flipped = stories['model.safetensors'].slice();
    flipped[flipped.length - 1000] ^= 0x40;
    hub = await serveHub({
      'test/stories260K': { files: stories },
      'test/sharded': { files: sharded() },
      'test/gated': { files: stories, token: 'hf_secret' },
      'test/corrupt': { files: stories, served: { 'model.safetensors': flipped } },
      'test/html-config': { files: { ...stories, 'config.json': new TextEncoder().encode('<!DOCTYPE html><title>502</title>') } },
    });
    browser = await launchChromium();
    page = await browser.newPage();
    await page.goto(site.url + 'index.html');
    await page.getByText('ready').waitFor();
  });
  afterAll(async () => {
    await browser?.close();
    await site?.close();
    await hub?.close();
  });

  it('downloads with progress, generates the reference continuation, and loads again with no request', async () => {
    const first = await call<any>('load', hub.url, 'test/stories260K');
    expect(first.ids).toEqual(referenceGreedy(loadRefModel(STORIES), [1], 30));
    expect(first.last.loaded).toBe(first.last.total);
    expect(first.last.total).toBe(1044992 + readFileSync(join(STORIES, 'config.json')).length);
    const seen = hub.requests.length;
    const second = await call<any>('load', hub.url, 'test/stories260K', { dtype: 'q8' });
    expect(second.ids).toHaveLength(30);
    expect(hub.requests.length).toBe(seen);
    const list = await call<any[]>('list');
    expect(list).toEqual([{ key: 'test/stories260K@main', repo: 'test/stories260K', revision: 'main', bytes: first.last.total, complete: true }]);
  });

  it('a sharded model gives the reference logits', async () => {
    const r = await call<any>('load', hub.url, 'test/sharded', { ids: [3], forward: [3, 4, 5] });
    expectClose('logits', r.logits, referenceForward(loadRefModel(writeTinyModel('llama-gqa')), [3, 4, 5]).logits);
  });

  it('a gated model without a token names the fix; with it, it loads', async () => {
    await expect(call('load', hub.url, 'test/gated')).rejects.toThrow(/test\/gated: HTTP 401 .*gated or private/);
    const r = await call<any>('load', hub.url, 'test/gated', { token: 'hf_secret' });
    expect(r.ids).toHaveLength(30);
  });

  it('a dropped connection keeps the chunks so far; the next load resumes with a Range request', async () => {
    await call('remove', 'test/stories260K@main');
    hub.dropOnce('model.safetensors', 400_000);
    await expect(call('load', hub.url, 'test/stories260K')).rejects.toThrow(/network dropped while downloading model\.safetensors after \d+ of 1044992 bytes/);
    const kept = await call<number>('partial', 'test/stories260K@main', 'model.safetensors');
    expect(kept).toBeGreaterThan(0);
    const mark = hub.requests.length;
    const r = await call<any>('load', hub.url, 'test/stories260K');
    expect(r.ids).toEqual(referenceGreedy(loadRefModel(STORIES), [1], 30));
    expect(hub.requests.slice(mark).filter((q) => q.method === 'GET' && q.path.endsWith('model.safetensors')).map((q) => q.range)).toEqual([`bytes=${kept}-`]);
  });

  it('quota exceeded (a real IndexedDB QuotaExceededError): a clear message and no partial entry', async () => {
    // A fresh context: its own, nearly empty storage, whose quota the DevTools protocol can lower.
    const ctx = await browser.newContext();
    const p = await ctx.newPage();
    await p.goto(site.url + 'index.html');
    await p.getByText('ready').waitFor();
    const on = <T>(fn: string, ...args: unknown[]): Promise<T> =>
      p.evaluate(([f, a]) => (window as any).hub[f as string](...(a as unknown[])), [fn, args] as const) as Promise<T>;
    const cdp = await ctx.newCDPSession(p);
    const usage = (await on<any>('estimate')).usage;
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: new URL(site.url).origin, quotaSize: usage + 300_000 });
    try {
      await expect(on('load', hub.url, 'test/stories260K')).rejects.toThrow(/test\/stories260K: storage quota exceeded while caching it in IndexedDB .*nothing of it was kept/);
      expect(await on<any[]>('list')).toEqual([]);
    } finally {
      await ctx.close();
    }
  });

  it('lists, deletes one and clears all; persistence and the estimate are asked for', async () => {
    expect((await call<any[]>('list')).map((m) => m.key)).toEqual(['test/gated@main', 'test/sharded@main', 'test/stories260K@main']);
    expect(await call('remove', 'test/sharded@main')).toBe(true);
    expect((await call<any[]>('list')).map((m) => m.key)).toEqual(['test/gated@main', 'test/stories260K@main']);
    await call('clear');
    expect(await call<any[]>('list')).toEqual([]);
    expect(typeof (await call('persist'))).toBe('boolean');
    expect((await call<any>('estimate')).quota).toBeGreaterThan(0);
  });

  it('IndexedDB keeps nothing that fails the Hub\'s sha256 or does not parse', async () => {
    await expect(call('load', hub.url, 'test/corrupt')).rejects.toThrow(/test\/corrupt: model\.safetensors from .* does not match the Hub's sha256 \(expected [0-9a-f]{64}, got [0-9a-f]{64}\); it was not kept in the cache/);
    expect(await call('partial', 'test/corrupt@main', 'model.safetensors')).toBe(0);
    await expect(call('load', hub.url, 'test/html-config')).rejects.toThrow(/test\/html-config: config\.json from .* is not valid JSON/);
    expect((await call<any[]>('list')).filter((m) => m.complete)).toEqual([]);
    await call('clear');
  });
});
