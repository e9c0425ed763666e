// The LatentQA page in Chromium (WebGPU on SwiftShader) on the shipped toy-s with its shipped decoder: the worker
// finds the decoder beside the model, a reading of the held-out pirate equals the CLI's (tests/latentqa-api.slow.test.ts
// checks the same strings in Node), the held-out table fills, a few steering steps (a persona, positive reviews) show
// generations before and after with a score, a few training steps stream falling losses across a pause and resume,
// the results and the trained decoder export, and a paused run is offered after a reload, resumes from its
// checkpoint and cancels between steps.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp, type App } from './harness/app';
import { shownText, textNow } from './harness/page';

let app: App;
let root: string;

beforeAll(async () => {
  // Only toy-s in the catalog, so it is the model the app loads (the app's default is toy-m).
  root = mkdtempSync(join(tmpdir(), 'latentlab-lqa-e2e-'));
  writeFileSync(join(root, 'index.json'), JSON.stringify({ models: [{ id: 'toy-s', label: 'toy-s' }] }));
  app = await openApp({ mounts: { '/models/index.json': join(root, 'index.json') }, hash: '#/latentqa' });
  await app.page.getByTestId('model-status').filter({ hasText: 'toy-s' }).waitFor({ timeout: 60_000 });
});
afterAll(async () => {
  await app?.close();
  rmSync(root, { recursive: true, force: true });
});

const text = (id: string) => textNow(app.page, id);
const shown = (id: string) => shownText(app.page, id);
const noError = async () => expect(await app.page.getByTestId('lqa-error').count()).toBe(0);
/** The training run's state and step, as the Train page's run controls show them. */
const readRunState = (timeout?: number) =>
  app.page.getByTestId('train-status').evaluate((el) => ({ state: el.getAttribute('data-state'), step: Number(el.getAttribute('data-step')) }), undefined, { timeout });
/** For polls: the state, or an empty one while the controls are not shown yet. */
const runState = () => readRunState(100).catch(() => ({ state: '', step: 0 }));
const lossCount = () => app.page.getByTestId('train-losses').locator('li').count().catch(() => 0);
/** Pauses the run after its next step; the step it paused at. */
async function pauseRun(): Promise<number> {
  await expect.poll(async () => (await runState()).step, { timeout: 60_000 }).toBeGreaterThanOrEqual(1);
  await app.page.getByTestId('train-pause').click();
  await expect.poll(async () => (await runState()).state, { timeout: 30_000 }).toBe('paused');
  // A busy machine can make the 100 ms poll read miss the element; this read waits for it.
  const { step } = await readRunState();
  expect(await lossCount()).toBe(step);
  expect(await shown('train-note')).toMatch(new RegExp(`^paused at step ${step} \\(checkpoint saved`));
  return step;
}

describe('LatentQA page', () => {
  it('finds the shipped decoder and reads a hidden persona', async () => {
    const p = app.page;
    await expect.poll(() => text('decoder-status'), { timeout: 30_000 }).toMatch(/shipped \(.*\/models\/toy-s-latentqa\/\), reads layer 1/);
    await p.getByTestId('system').fill('You are a pirate .');
    await p.getByTestId('user').fill('Hello !');
    await p.getByTestId('question').fill('How does the assistant start its replies ?');
    await p.getByTestId('read').click();
    await expect.poll(() => text('answer-reply'), { timeout: 30_000 }).toMatch(/^Arr !/);
    await expect.poll(() => p.getByTestId('busy').count(), { timeout: 30_000 }).toBe(0);
    expect(await shown('answer-decoded')).toBe('With Arr .');
    expect(await shown('answer-textOnly')).toBe('With Bloom .');
    await noError();
    await app.shot('latentqa-read');
  }, 60_000);

  it('fills the held-out table', async () => {
    const p = app.page;
    await p.locator('label', { hasText: 'pairs' }).locator('input').fill('3');
    await p.getByTestId('evaluate').click();
    await expect.poll(() => p.getByTestId('eval-table').locator('tbody td').count().catch(() => 0), { timeout: 60_000 }).toBe(7);
    await noError();
    const cells = await p.getByTestId('eval-table').locator('tbody td').allTextContents();
    for (const c of cells.slice(0, 4)) expect(Number(c)).toBeGreaterThanOrEqual(0);
    expect(cells[6]).toBe('3');
  }, 90_000);

  it('steers toward a persona: generations before and after, and a score', async () => {
    const p = app.page;
    await p.getByTestId('steer-example').selectOption('persona:chef');
    await p.getByTestId('steer-steps').fill('3');
    await p.getByTestId('steer-generations').fill('2');
    await p.getByTestId('steer').click();
    await expect.poll(() => p.getByTestId('steer-table').locator('tbody tr').count().catch(() => 0), { timeout: 60_000 }).toBe(2);
    await noError();
    expect((await shown('steer-losses')).split('→')).toHaveLength(3);
    expect(await shown('steer-scores')).toMatch(/trait word \(Mmm, soup, sauce, kitchen\): \d\.\d\d → \d\.\d\d/);
    for (const row of await p.getByTestId('steer-table').locator('tbody tr').all()) {
      const [, before, after] = await row.locator('td').allTextContents();
      expect(before.length).toBeGreaterThan(0);
      expect(after.length).toBeGreaterThan(0);
    }
    await app.shot('latentqa-steer');
  }, 90_000);

  it('steers toward positive reviews, scored by the verdict the model writes', async () => {
    const p = app.page;
    await p.getByTestId('steer-example').selectOption('sentiment:positive');
    await p.getByTestId('steer').click();
    await expect.poll(() => text('steer-scores'), { timeout: 60_000 }).toMatch(/calls "Sentiment : positive": 0\.00 → \d\.\d\d\s*mean positive minus negative words .*: -1\.00 → -?\d\.\d\d/);
    await noError();
    const before = await p.getByTestId('steer-table').locator('tbody tr td:nth-child(2)').allTextContents();
    // toy-s continues every negative opening negatively and says so itself.
    expect(before).toEqual(['not perfect . Sentiment : negative .', 'not perfect . Sentiment : negative .']);
  }, 90_000);

  it('trains a small decoder, paused and resumed, with falling losses, then exports', async () => {
    const p = app.page;
    await p.getByTestId('train-steps').fill('4');
    await p.getByTestId('train-start').click();
    expect(await pauseRun()).toBeLessThan(4);
    await p.getByTestId('train-resume').click();
    await expect.poll(() => text('train-note'), { timeout: 90_000 }).toMatch(/^4 steps on \d+ examples/);
    expect(await runState()).toEqual({ state: 'done', step: 4 });
    await noError();
    const losses = (await p.getByTestId('train-losses').locator('li').evaluateAll((lis) => lis.map((li) => Number(li.getAttribute('data-loss')))));
    expect(losses).toHaveLength(4);
    // Measured in Chromium on SwiftShader: 10.02, 9.02, 7.79, 7.33 (the seeded order makes them repeatable).
    losses.slice(1).forEach((l, i) => expect(l).toBeLessThan(losses[i]));
    expect(await shown('decoder-status')).toMatch(/trained here, reads layer 1, 4 steps/);
    await app.shot('latentqa-train');

    const [download] = await Promise.all([p.waitForEvent('download'), p.getByTestId('export-json').click()]);
    const out = JSON.parse(readFileSync((await download.path())!, 'utf8'));
    expect(out.reading.decoded).toBe('With Arr .');
    expect(out.steering.before).toHaveLength(2);
    expect(out.training.losses).toHaveLength(4);

    // The trained decoder as a folder's files, its latentqa.json naming toy-s's weights.
    const files = new Map<string, string>();
    p.on('download', async (d) => files.set(d.suggestedFilename(), (await d.path())!));
    await p.getByTestId('export-decoder').click();
    await expect.poll(() => files.size, { timeout: 30_000 }).toBe(3);
    const meta = JSON.parse(readFileSync(files.get('latentqa.json')!, 'utf8'));
    expect(meta).toMatchObject({ steps: 4, layer: 1, modelSha256: JSON.parse(readFileSync('public/models/toy-s-latentqa/latentqa.json', 'utf8')).modelSha256 });
    expect(JSON.parse(readFileSync(files.get('adapter_config.json')!, 'utf8')).r).toBe(16);
    p.removeAllListeners('download');
  }, 120_000);

  it('a paused run is offered after a reload, resumes from its checkpoint, and cancels', async () => {
    const p = app.page;
    await p.getByRole('button', { name: 'Use the shipped decoder' }).click();
    await expect.poll(() => text('decoder-status'), { timeout: 30_000 }).toMatch(/shipped .*150 steps/);
    await p.getByTestId('train-steps').fill('500');
    await p.getByTestId('train-start').click();
    const saved = await pauseRun();
    await p.reload();
    await p.getByTestId('model-status').filter({ hasText: 'toy-s' }).waitFor({ timeout: 60_000 });
    const banner = p.getByTestId('resume-banner');
    await banner.waitFor({ timeout: 30_000 });
    expect(await banner.textContent()).toMatch(new RegExp(`saved at step ${saved} of 500`));
    await p.getByTestId('resume-banner-resume').click();
    // The losses start from the checkpoint's history and go on.
    await expect.poll(lossCount, { timeout: 60_000 }).toBeGreaterThan(saved);
    await p.getByTestId('train-cancel').click();
    await expect.poll(() => text('train-note'), { timeout: 30_000 }).toMatch(/^cancelled after \d+ steps/);
    expect(await shown('decoder-status')).toMatch(/shipped .*150 steps/);
    expect(await p.getByTestId('resume-banner').count()).toBe(0);
    await noError();
    expect(app.errors).toEqual([]);
  }, 120_000);
});
