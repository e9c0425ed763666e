// The LatentQA page on the app's default model, toy-m, with the decoder shipped for it (public/models/toy-m-latentqa):
// a reading equals the CLI's, and a short training run and a short steering run complete in Chromium. The page's other
// features are tested on the smaller toy-s (latentqa.e2e.ts); this file checks the default model's path end to end.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp, type App } from './harness/app';
import { shownText, textNow } from './harness/page';

let app: App;

beforeAll(async () => {
  app = await openApp({ hash: '#/latentqa' });
  await app.page.getByTestId('model-status').filter({ hasText: 'toy-m' }).waitFor({ timeout: 90_000 });
});
afterAll(async () => {
  await app?.close();
});

const text = (id: string) => textNow(app.page, id);
const shown = (id: string) => shownText(app.page, id);
const noError = async () => expect(await app.page.getByTestId('lqa-error').count()).toBe(0);

describe('LatentQA page on toy-m', () => {
  it('reads a held-out persona with the shipped toy-m decoder', async () => {
    const p = app.page;
    await expect.poll(() => text('decoder-status'), { timeout: 60_000 }).toMatch(/shipped \(.*\/models\/toy-m-latentqa\/\), reads layer 1/);
    await p.getByTestId('system').fill('You are a pirate .');
    await p.getByTestId('user').fill('Hello !');
    await p.getByTestId('question').fill('How does the assistant start its replies ?');
    await p.getByTestId('read').click();
    await expect.poll(() => p.getByTestId('busy').count(), { timeout: 60_000 }).toBe(0);
    // `latentlab latentqa read` on toy-m prints the same two strings (the pirate is a held-out persona).
    await expect.poll(() => text('answer-decoded'), { timeout: 60_000 }).toBe('With Arr .');
    expect(await shown('answer-textOnly')).toBe('With .');
    expect(await shown('answer-reply')).toMatch(/^Arr !/);
    await noError();
  }, 150_000);

  it('steers toward a persona for two steps', async () => {
    const p = app.page;
    await p.getByTestId('steer-example').selectOption('persona:chef');
    await p.getByTestId('steer-steps').fill('2');
    await p.getByTestId('steer-generations').fill('2');
    await p.getByTestId('steer').click();
    await expect.poll(() => p.getByTestId('steer-table').locator('tbody tr').count().catch(() => 0), { timeout: 120_000 }).toBe(2);
    await noError();
    expect((await shown('steer-losses')).split('→')).toHaveLength(2);
    expect(await shown('steer-scores')).toMatch(/trait word \(Mmm, soup, sauce, kitchen\): \d\.\d\d → \d\.\d\d/);
  }, 150_000);

  it('trains a small decoder for two steps', async () => {
    const p = app.page;
    await p.getByTestId('train-steps').fill('2');
    await p.getByTestId('train-start').click();
    await expect.poll(() => text('train-note'), { timeout: 120_000 }).toMatch(/^2 steps on \d+ examples/);
    await noError();
    const losses = await p.getByTestId('train-losses').locator('li').evaluateAll((lis) => lis.map((li) => Number(li.getAttribute('data-loss'))));
    expect(losses).toHaveLength(2);
    for (const l of losses) expect(Number.isFinite(l) && l > 0).toBe(true);
    expect(await shown('decoder-status')).toMatch(/trained here, reads layer 1, 2 steps/);
    expect(app.errors).toEqual([]);
  }, 150_000);
});
