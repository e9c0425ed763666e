// The Train page in Chromium (WebGPU on SwiftShader, real IndexedDB) on the tiny chat model: a LoRA run streams
// its loss, pauses and resumes between steps, survives a page reload through the checkpoint banner, memorises its
// text, and exports a PEFT adapter that loads back and generates the same continuation.
import { readFileSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSafetensors } from '../../src/engine/safetensors';
import { openApp, type App } from './harness/app';
import { shownTop, waitForAnalysis } from './harness/page';
import { TINY_VOCAB, writeTinyChatModel } from './harness/tiny-model';

let app: App;
let dir: string;

const status = async (page: Page) => {
  const el = page.getByTestId('train-status');
  return { state: (await el.getAttribute('data-state')) ?? '', step: Number(await el.getAttribute('data-step')) };
};

async function waitFor(page: Page, what: string, ok: (s: { state: string; step: number }) => boolean, timeout = 90_000) {
  const t0 = Date.now();
  for (;;) {
    const s = await status(page).catch(() => ({ state: '', step: 0 }));
    if (ok(s)) return s;
    const err = await page.getByTestId('train-error').textContent({ timeout: 5 }).catch(() => null);
    if (err) throw new Error(`the page shows an error: ${err}`);
    if (Date.now() - t0 > timeout) throw new Error(`waited for ${what}; the run is ${s.state} at step ${s.step}`);
    await page.waitForTimeout(100);
  }
}

const chart = async (page: Page) => {
  const c = page.getByTestId('loss-chart');
  return { points: Number(await c.getAttribute('data-points')), first: Number(await c.getAttribute('data-first')), last: Number(await c.getAttribute('data-last')) };
};

beforeAll(async () => {
  dir = writeTinyChatModel();
  app = await openApp({ mounts: { '/models/': `${dirname(dir)}/` }, hash: '#/train' });
  await app.page.getByTestId('model-status').filter({ hasText: 'e2e-tiny' }).waitFor({ timeout: 60_000 });
});
afterAll(async () => {
  await app?.close();
  rmSync(dirname(dir), { recursive: true, force: true });
});

describe('Train page', () => {
  it('streams the loss, pauses and resumes between steps', async () => {
    const page = app.page;
    await page.getByTestId('train-steps').fill('80');
    await page.getByTestId('train-ckpt-every').fill('5');
    await page.getByTestId('train-lr').fill('0.02');
    await page.getByTestId('train-start').click();
    await waitFor(page, 'step 3', (s) => s.step >= 3);
    await page.getByTestId('train-pause').click();
    const paused = await waitFor(page, 'paused', (s) => s.state === 'paused');
    await page.waitForTimeout(1500);
    expect(await status(page)).toEqual(paused);
    expect((await chart(page)).points).toBe(paused.step);
    // Each step's peak GPU bytes beyond the weights, as the trainer measured them.
    expect((await page.getByTestId('train-status').textContent())?.replace(/\s+/g, ' ')).toMatch(/tokens\/s · peak \d+\.\d MiB ·/);
    await expect.poll(() => page.locator(`[data-testid="checkpoints"] tr[data-status="paused"][data-step="${paused.step}"]`).count()).toBe(1);
    await page.getByTestId('train-resume').click();
    await waitFor(page, 'steps after the pause', (s) => s.state === 'running' && s.step >= Math.max(12, paused.step + 2));
    await app.shot('train-running');
  });

  it('a reload mid-run offers the last checkpoint; resuming continues from it to the end and the loss falls', async () => {
    const page = app.page;
    // Reloaded on another page: the app says where to resume; the Train page offers the checkpoint.
    await page.evaluate(() => (location.hash = '#/explore'));
    await page.reload();
    await page.getByTestId('model-status').filter({ hasText: 'e2e-tiny' }).waitFor({ timeout: 60_000 });
    await page.getByTestId('train-offer').getByRole('link').click();
    const banner = page.getByTestId('resume-banner');
    await banner.waitFor({ timeout: 30_000 });
    const text = (await banner.textContent()) ?? '';
    const saved = Number(/saved at step (\d+) of 80/.exec(text)?.[1]);
    expect(saved).toBeGreaterThanOrEqual(10);
    expect(saved % 5).toBe(0);
    await page.getByTestId('resume-banner-resume').click();
    await waitFor(page, 'the resumed run', (s) => s.step >= saved);
    // The chart starts from the checkpoint's history.
    expect((await chart(page)).points).toBeGreaterThanOrEqual(saved);
    const done = await waitFor(page, 'done', (s) => s.state === 'done');
    expect(done.step).toBe(80);
    const c = await chart(page);
    expect(c.points).toBe(80);
    expect(c.last).toBeLessThan(0.3 * c.first);
    await expect.poll(() => page.locator('[data-testid="checkpoints"] tr[data-status="done"][data-step="80"]').count()).toBe(1);
    expect(await page.getByTestId('resume-banner').count()).toBe(0);
    expect(await page.getByTestId('train-offer').count()).toBe(0);
    await app.shot('train-done');
  });

  it('generates the memorised text with the adapter; exports PEFT files that load back to the same continuation', async () => {
    const page = app.page;
    await page.getByTestId('compare-prompt').fill('the cat');
    await page.getByTestId('compare-generate').click();
    await page.getByTestId('compare-tuned').waitFor({ timeout: 60_000 });
    const tuned = (await page.getByTestId('compare-tuned').textContent())!;
    // The word-level decoder writes "mat." for "mat ."; the base model's continuation is something else.
    expect(tuned.startsWith('sat on the mat. the dog ran')).toBe(true);
    expect(await page.getByTestId('compare-base').textContent()).not.toBe(tuned);

    await page.getByTestId('export-adapter').click();
    const files: Record<string, string> = {};
    for (const id of ['download-config', 'download-weights']) {
      const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId(id).click()]);
      files[dl.suggestedFilename()] = (await dl.path())!;
    }
    const cfg = JSON.parse(readFileSync(files['adapter_config.json'], 'utf8'));
    expect(cfg).toMatchObject({ peft_type: 'LORA', r: 4, lora_alpha: 8, target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] });
    const st = parseSafetensors(new Uint8Array(readFileSync(files['adapter_model.safetensors'])));
    expect([...st.tensors.keys()]).toContain('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight');

    await page.getByTestId('adapter-files').setInputFiles([
      { name: 'adapter_config.json', mimeType: 'application/json', buffer: readFileSync(files['adapter_config.json']) },
      { name: 'adapter_model.safetensors', mimeType: 'application/octet-stream', buffer: readFileSync(files['adapter_model.safetensors']) },
    ]);
    await expect.poll(() => page.getByTestId('adapter-select').inputValue()).toBe('a1');
    await page.getByTestId('compare-generate').click();
    await expect.poll(async () => (await page.getByTestId('compare-tuned').textContent()) === tuned && !(await page.getByTestId('compare-generate').isDisabled())).toBe(true);

    // The loaded adapter in Explore: the memorised next word leads the table; without it, it does not.
    await page.getByTestId('use-in-explore').click();
    await page.evaluate(() => (location.hash = '#/explore'));
    await page.getByTestId('explore-adapter').waitFor();
    await page.getByTestId('prompt').fill('the cat');
    const ids = [1, TINY_VOCAB.indexOf('the'), TINY_VOCAB.indexOf('cat')];
    await waitForAnalysis(page, ids);
    const withAdapter = await shownTop(page);
    expect(withAdapter[0].text).toBe(' sat');
    expect(withAdapter[0].prob).toBeGreaterThan(0.5);
    await page.getByTestId('explore-adapter').getByRole('button', { name: 'remove' }).click();
    await expect.poll(async () => (await shownTop(page))[0]?.prob ?? 1).toBeLessThan(0.5);
    expect(app.errors).toEqual([]);
  });
});
