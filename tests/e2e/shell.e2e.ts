// The shell: WebGPU adapter in the status bar, navigation, and the page shown when WebGPU is missing.
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp, type App } from './harness/app';
import { writeTinyChatModel } from './harness/tiny-model';

describe('with WebGPU (SwiftShader)', () => {
  let app: App;
  let dir: string;
  beforeAll(async () => {
    dir = writeTinyChatModel();
    app = await openApp({ mounts: { '/models/': `${dirname(dir)}/` } });
  });
  afterAll(async () => {
    await app?.close();
    rmSync(dirname(dir), { recursive: true, force: true });
  });

  it('shows the SwiftShader adapter and its features in the status bar', async () => {
    const adapter = app.page.getByTestId('adapter');
    await expect.poll(() => adapter.textContent(), { timeout: 60_000 }).toMatch(/swiftshader/i);
    const text = (await adapter.textContent())!;
    expect(text).toMatch(/google/i);
    // SwiftShader offers subgroups but no shader-f16.
    expect(text).toContain('subgroups');
    expect(text).not.toContain('shader-f16');
  });

  it('loads the default model from /models/index.json and names it in the status bar', async () => {
    const status = app.page.getByTestId('model-status');
    await expect.poll(() => status.textContent(), { timeout: 60_000 }).toMatch(/model: e2e-tiny · llama · 2L × 32 · dtype f32/);
    expect(app.server.requests).toContain('/models/index.json');
    await app.shot('shell-explore');
  });

  it('navigates by hash and lists the pages', async () => {
    const links = app.page.getByRole('navigation', { name: 'Pages' }).getByRole('link');
    expect(await links.allTextContents()).toContain('Explore');
    await links.first().click();
    expect(app.page.url()).toMatch(/#\/explore$/);
    await expect.poll(() => app.page.getByTestId('prompt').isVisible()).toBe(true);
  });

  it('opens a method page from the registry, loading its code on first visit', async () => {
    await app.page.getByRole('link', { name: 'Market entry' }).click();
    expect(app.page.url()).toMatch(/#\/market-entry$/);
    await app.page.getByText('Multi-objective scaling laws and market entry').first().waitFor({ timeout: 60_000 });
    // The status bar stays, and the way back to Explore keeps the loaded model.
    expect(await app.page.getByTestId('model-status').textContent()).toMatch(/e2e-tiny/);
    await app.shot('shell-market-entry');
    await app.page.goBack();
    await expect.poll(() => app.page.getByTestId('prompt').isVisible()).toBe(true);
  });

  it('logs no errors', () => {
    // 404s for optional tokenizer files (generation_config.json, chat_template.jinja) are expected.
    expect(app.errors.filter((e) => !/404|Failed to load resource/.test(e))).toEqual([]);
  });
});

describe('without WebGPU', () => {
  let app: App;
  beforeAll(async () => {
    app = await openApp({ webgpu: false });
  });
  afterAll(() => app?.close());

  it('explains that WebGPU is needed and which browsers work', async () => {
    const box = app.page.getByTestId('no-webgpu');
    await box.waitFor({ timeout: 30_000 });
    const text = (await box.textContent())!;
    expect(text).toContain('LatentLab needs WebGPU');
    expect(text).toContain('found no usable GPU adapter');
    expect(text).toMatch(/Chrome or Edge 113/);
    await app.shot('no-webgpu');
  });
});
