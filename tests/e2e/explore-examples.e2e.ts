// The Explore page's example inputs on the shipped toy-s, whose vocabulary has no "capital": the patching and
// steering forms offer the toy world's reviews instead (src/methods/explore/examples.ts), and both run as offered.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PATCHING, STEERING } from '../../src/methods/explore/examples';
import { openApp, type App } from './harness/app';

let app: App;
let root: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'latentlab-examples-'));
  // Only toy-s in the catalog, so it is the model the app loads.
  writeFileSync(join(root, 'index.json'), JSON.stringify({ models: [{ id: 'toy-s', label: 'toy-s' }] }));
  app = await openApp({ mounts: { '/models/index.json': join(root, 'index.json') } });
  await app.page.getByTestId('model-status').filter({ hasText: 'toy-s' }).waitFor({ timeout: 60_000 });
});
afterAll(async () => {
  await app?.close();
  rmSync(root, { recursive: true, force: true });
});

it('offers patching and steering examples in the vocabulary, and both run as offered', async () => {
  const page = app.page;
  await page.getByTestId('view-tab-patching').click();
  const want = PATCHING[1];
  await expect.poll(() => page.getByTestId('patch-clean').inputValue(), { timeout: 30_000 }).toBe(want.clean);
  expect(await page.getByTestId('patch-corrupt').inputValue()).toBe(want.corrupt);
  expect(await page.getByTestId('patch-answer').inputValue()).toBe(want.answer);
  expect(await page.getByTestId('patch-wrong').inputValue()).toBe(want.wrong);
  await page.getByTestId('patch-run').click();
  await page.getByTestId('patch-metrics').waitFor();
  await expect.poll(() => page.getByTestId('patch-run').textContent(), { timeout: 120_000 }).toBe('Run patching');
  expect(await page.getByTestId('patch-error').count()).toBe(0);

  await page.getByTestId('view-tab-steering').click();
  const s = STEERING[1];
  expect(await page.getByTestId('steer-positive').inputValue()).toBe(s.positive.join('\n'));
  expect(await page.getByTestId('steer-negative').inputValue()).toBe(s.negative.join('\n'));
  expect(await page.getByTestId('steer-prompt').inputValue()).toBe(s.prompt);
  await page.getByTestId('steer-vector').click();
  await expect.poll(() => page.getByTestId('steer-vector-info').textContent().catch(() => ''), { timeout: 60_000 }).toMatch(/mean .* over 2 vs 2 prompts/);
  expect(await page.getByTestId('steer-error').count()).toBe(0);
  expect(app.errors).toEqual([]);
});
