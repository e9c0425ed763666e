// The model picker in Chromium against a local stand-in for the Hub (127.0.0.1): a Hub id downloads into
// IndexedDB with progress, loads again from the cache with no request and another dtype, a stalled download is
// cancelled and then resumed by a Range request, a gated repo needs the token from the settings, the cache lists
// sizes and deletes; a local folder and a .gguf file (picked, and dropped) load too.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { llamaFolderGguf } from '../fixtures/hf-to-gguf';
import { writeTinyModel } from '../fixtures/tiny-models';
import { serveHub, type FakeHub } from '../helpers/hub-server';
import { openApp, type App } from './harness/app';
import { writeTinyChatModel } from './harness/tiny-model';

let app: App;
let dir: string;
let hub: FakeHub;
let files: Record<string, Uint8Array>;
let total: number;

const status = (page: Page) => page.getByTestId('model-status').textContent();
const waitModel = (page: Page, label: string) => page.getByTestId('model-status').filter({ hasText: `model: ${label}` }).waitFor({ timeout: 60_000 });
const download = async (page: Page) => {
  const d = page.getByTestId('download');
  return { state: await d.getAttribute('data-state'), loaded: Number(await d.getAttribute('data-loaded')), total: Number(await d.getAttribute('data-total')), text: await d.textContent() };
};
const cachedKeys = (page: Page) => page.locator('[data-testid="cached-models"] tr').evaluateAll((rows) => rows.map((r) => `${r.getAttribute('data-key')}:${r.getAttribute('data-bytes')}`));

async function loadTyped(page: Page, text: string): Promise<void> {
  await page.getByTestId('model-url').fill(text);
  await page.getByTestId('model-url-load').click();
}


beforeAll(async () => {
  dir = writeTinyChatModel();
  files = Object.fromEntries(readdirSync(dir).map((f) => [f, new Uint8Array(readFileSync(join(dir, f)))]));
  total = Object.values(files).reduce((a, f) => a + f.length, 0);
  hub = await serveHub({ 'test/tiny-chat': { files }, 'test/gated': { files, token: 'hf_secret' } });
  app = await openApp({ mounts: { '/models/': `${dirname(dir)}/` } });
  await waitModel(app.page, 'e2e-tiny');
});
afterAll(async () => {
  await app?.close();
  await hub?.close();
  rmSync(dirname(dir), { recursive: true, force: true });
});

describe('model picker: the Hub and the IndexedDB cache', () => {
  it('downloads a Hub id with progress into the cache, then loads it again with no request and another dtype', async () => {
    const page = app.page;
    await page.getByTestId('hub-toggle').click();
    await page.getByTestId('cached-empty').waitFor();
    // The curated list: each recommended model with its download size and GPU memory per dtype.
    const catalogRows = await page.getByTestId('hub-catalog').locator('tbody tr').allTextContents();
    expect(catalogRows).toHaveLength(5);
    expect(catalogRows[0]).toMatch(/HuggingFaceTB\/SmolLM2-135M-Instruct.*0\.27 GB.*0\.54 GB.*0\.27 GB.*0\.15 GB.*0\.09 GB/);
    expect(catalogRows.some((r) => /meta-llama\/Llama-3\.2-1B-Instruct \*/.test(r))).toBe(true);
    await page.getByTestId('hub-url').fill(hub.url);
    await page.getByTestId('hub-save').click();
    await page.getByTestId('model-dtype').selectOption('f32');
    await loadTyped(page, 'test/tiny-chat');
    await waitModel(page, 'test/tiny-chat@main');
    expect(await status(page)).toMatch(/llama · 2L × 32 · dtype f32/);
    expect(await download(page)).toMatchObject({ state: 'done', loaded: total, total });
    expect(hub.requests.some((r) => r.method === 'GET' && r.path === '/test/tiny-chat/resolve/main/model.safetensors')).toBe(true);
    await expect.poll(() => cachedKeys(page)).toEqual([`test/tiny-chat@main:${total}`]);
    // The setting survives a reload (localStorage); the cached model loads with no request.
    await page.reload();
    await waitModel(page, 'e2e-tiny');
    await page.getByTestId('hub-toggle').click();
    expect(await page.getByTestId('hub-url').inputValue()).toBe(hub.url);
    const mark = hub.requests.length;
    await page.getByTestId('model-dtype').selectOption('q8');
    await loadTyped(page, 'test/tiny-chat@main');
    await waitModel(page, 'test/tiny-chat@main');
    expect(await status(page)).toMatch(/dtype q8/);
    expect(hub.requests.length).toBe(mark);
    expect((await download(page)).text).toMatch(/from the IndexedDB cache/);
    // The menu offers f16 too (two halves per u32 on the GPU).
    await page.getByTestId('model-dtype').selectOption('f16');
    await loadTyped(page, 'test/tiny-chat@main');
    await expect.poll(() => status(page)).toMatch(/dtype f16/);
    expect(hub.requests.length).toBe(mark);
    await page.getByTestId('model-dtype').selectOption('auto');
    await app.shot('picker-hub');
  });

  it('a stalled download shows its bytes, is cancelled, and the next load resumes it with a Range request', async () => {
    const page = app.page;
    await page.locator('[data-testid="cached-models"] tr[data-key="test/tiny-chat@main"] [data-testid="cached-delete"]').click();
    await page.getByTestId('cached-empty').waitFor();
    const size = files['model.safetensors'].length;
    hub.stallOnce('model.safetensors', 5000);
    await loadTyped(page, 'test/tiny-chat');
    await expect.poll(async () => (await download(page)).loaded, { timeout: 30_000 }).toBeGreaterThanOrEqual(5000);
    expect((await download(page)).state).toBe('downloading');
    expect(await page.locator('[data-testid="download"] li[data-path="model.safetensors"]').textContent()).toMatch(/\/ 0\.\d\d MiB/);
    await page.getByTestId('download-cancel').click();
    await page.getByTestId('load-error').filter({ hasText: 'cancelled' }).waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('load-error').textContent()).toMatch(/download of test\/tiny-chat cancelled \(model\.safetensors: 5000 bytes kept/);
    expect((await download(page)).state).toBe('failed');
    await expect.poll(() => page.locator('[data-testid="cached-models"] tr').count()).toBe(1);
    const mark = hub.requests.length;
    await loadTyped(page, 'test/tiny-chat');
    await waitModel(page, 'test/tiny-chat@main');
    const gets = hub.requests.slice(mark).filter((r) => r.method === 'GET' && r.path.endsWith('model.safetensors'));
    expect(gets.map((r) => r.range)).toEqual(['bytes=5000-']);
    expect(size).toBeGreaterThan(5000);
    await expect.poll(() => cachedKeys(page)).toEqual([`test/tiny-chat@main:${total}`]);
  });

  it('a gated repo names the fix without a token and loads with the token from the settings; delete and clear', async () => {
    const page = app.page;
    await loadTyped(page, 'test/gated');
    await page.getByTestId('load-error').filter({ hasText: 'gated or private' }).waitFor({ timeout: 30_000 });
    await page.getByTestId('hub-token').fill('hf_secret');
    await page.getByTestId('hub-save').click();
    await loadTyped(page, 'test/gated');
    await waitModel(page, 'test/gated@main');
    await expect.poll(() => cachedKeys(page)).toEqual([`test/gated@main:${total}`, `test/tiny-chat@main:${total}`]);
    await page.locator('[data-testid="cached-models"] tr[data-key="test/gated@main"] [data-testid="cached-delete"]').click();
    await expect.poll(() => cachedKeys(page)).toEqual([`test/tiny-chat@main:${total}`]);
    await page.getByTestId('cached-clear').click();
    await page.getByTestId('cached-empty').waitFor();
    await page.getByTestId('hub-token').fill('');
    await page.getByTestId('hub-save').click();
  });
});

describe('model picker: local files', () => {
  it('loads a picked model folder', async () => {
    const page = app.page;
    const folder = writeTinyModel('llama-gqa', 2);
    await page.getByTestId('model-folder').setInputFiles(folder);
    const label = folder.split('/').pop()!;
    await waitModel(page, label);
    expect(await status(page)).toMatch(/llama · 2L × 32/);
  });

  it('loads a picked .gguf file, and one dropped on the picker', async () => {
    const page = app.page;
    // A bias-free tiny Llama (2 layers × 32, like the chat model), converted as llama.cpp does.
    const gguf = llamaFolderGguf(writeTinyModel('llama-tied'));
    await page.getByTestId('model-gguf').setInputFiles({ name: 'tiny.gguf', mimeType: 'application/octet-stream', buffer: Buffer.from(gguf) });
    await waitModel(page, 'tiny.gguf');
    expect(await status(page)).toMatch(/llama · 2L × 32/);
    await page.evaluate((bytes) => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array(bytes)], 'dropped.gguf'));
      document.querySelector('[data-testid="model-drop"]')!.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, Array.from(gguf));
    await waitModel(page, 'dropped.gguf');
    expect(app.errors.filter((e) => !/cancelled|gated|401/.test(e))).toEqual([]);
  });
});
