// The propositional-probes page in Chromium (WebGPU on SwiftShader) on a tiny random Qwen2 with the toy vocabulary:
// it fits through the worker (forward + gradients), shows progress, decodes a generated and a typed context with
// token labels, an affinity matrix and the model's answers, fills the results table, exports CSV, and finds its fit
// in IndexedDB after a reload.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp, type App } from './harness/app';
import { writeToyVocabModel, TOY_VOCAB_MODEL } from '../fixtures/toy-vocab-model';
import { writeFileSync } from 'node:fs';

let app: App;
let root: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'latentlab-pp-e2e-'));
  writeToyVocabModel(root);
  writeFileSync(join(root, 'index.json'), JSON.stringify({ models: [{ id: TOY_VOCAB_MODEL, label: TOY_VOCAB_MODEL, path: `${TOY_VOCAB_MODEL}/` }] }));
  app = await openApp({ mounts: { '/models/': `${root}/` }, hash: '#/prop-probes' });
  await app.page.getByTestId('model-status').filter({ hasText: TOY_VOCAB_MODEL }).waitFor({ timeout: 60_000 });
});
afterAll(async () => {
  await app?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('propositional probes page', () => {
  it('fits, decodes, evaluates and exports', async () => {
    const p = app.page;
    const num = (label: string) => p.locator('label', { hasText: label }).locator('input');
    await num('rank k').fill('3');
    await num('training contexts').fill('10');
    await num('Hessian prompts').fill('1');
    await p.locator('label', { hasText: 'estimator' }).locator('select').selectOption('randomized');
    await p.getByTestId('fit').click();
    await p.getByTestId('progress').waitFor({ timeout: 60_000 });
    const summary = async () => ((await p.getByTestId('fit-summary').textContent().catch(() => '')) ?? '').replace(/\s+/g, ' ');
    await expect.poll(summary, { timeout: 360_000 }).toMatch(/rank 3 \(randomized, 64 gradient passes\)/);

    await p.getByTestId('new-context').click();
    const shown = () => p.getByTestId('probe-tokens').locator('li').count();
    await expect.poll(async () => (await p.getByTestId('probes-error').count()) + (await shown()), { timeout: 60_000 }).toBeGreaterThan(0);
    expect(await p.getByTestId('probes-error').textContent().catch(() => null)).toBe(null);
    expect(await shown()).toBeGreaterThan(5);
    expect(await p.getByTestId('answers').locator('li').count()).toBeGreaterThan(0);

    await p.getByTestId('context').fill('Greg is a nurse . Laura is a physicist .');
    await p.getByTestId('decode').click();
    // <bos> + 10 words, each one token of the toy vocabulary; shown as text.
    await expect.poll(() => p.getByTestId('probe-tokens').locator('li .tok').allTextContents(), { timeout: 60_000 })
      .toEqual(['<s>', ' Greg', ' is', ' a', ' nurse', ' .', ' Laura', ' is', ' a', ' physicist', ' .']);
    await app.shot('prop-probes-decode');

    await p.locator('label', { hasText: 'contexts per set' }).locator('input').fill('2');
    await p.getByTestId('evaluate').click();
    await expect.poll(() => p.getByTestId('results').locator('tbody tr').count().catch(() => 0), { timeout: 360_000 }).toBe(9);
    for (const cell of await p.getByTestId('results').locator('tbody tr td:nth-child(3)').allTextContents()) {
      expect(Number(cell)).toBeGreaterThanOrEqual(0);
      expect(Number(cell)).toBeLessThanOrEqual(1);
    }
    const [download] = await Promise.all([p.waitForEvent('download'), p.getByRole('button', { name: 'Export CSV' }).click()]);
    const csv = readFileSync((await download.path())!, 'utf8');
    expect(csv.split(/\r?\n/)[0]).toBe('set,method,em,jaccard,n');
    expect(csv).toContain('injected,random subspace');
    await app.shot('prop-probes-results');
  }, 800_000);

  it('reuses the fit cached in IndexedDB after a reload', async () => {
    const p = app.page;
    await p.reload();
    await p.getByTestId('model-status').filter({ hasText: TOY_VOCAB_MODEL }).waitFor({ timeout: 60_000 });
    await p.locator('label', { hasText: 'rank k' }).locator('input').fill('3');
    await p.locator('label', { hasText: 'rank k' }).locator('input').dispatchEvent('change');
    await expect.poll(() => p.getByTestId('fit-summary').textContent().catch(() => ''), { timeout: 30_000 }).toMatch(/IndexedDB cache/);
    expect(app.errors).toEqual([]);
  });
});
