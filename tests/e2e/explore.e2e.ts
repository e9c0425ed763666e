// Explore page against the engine in Node: the same tiny model, the same input, the same next-token table
// and the same greedy continuation; and the page keeps taking keystrokes while the worker computes.
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyModel } from '../fixtures/tiny-models';
import { openApp, type App } from './harness/app';
import { shownTokenIds, shownTop, waitForAnalysis } from './harness/page';
import { nodeReference, type NodeRef } from './harness/reference';
import { TINY_VOCAB, writeTinyChatModel } from './harness/tiny-model';

const PROB_TOL = 1e-4;

let app: App;
let ref: NodeRef;
let benchDir: string;
let dir: string;

beforeAll(async () => {
  dir = writeTinyChatModel();
  benchDir = writeTinyModel('bench-llama', 1);
  ref = await nodeReference(dir);
  app = await openApp({ mounts: { '/models/': `${dirname(dir)}/`, '/custom/bench/': `${benchDir}/` } });
  await app.page.getByTestId('model-status').filter({ hasText: 'e2e-tiny' }).waitFor({ timeout: 60_000 });
});
afterAll(async () => {
  await app?.close();
  ref?.model.dispose();
  rmSync(dirname(dir), { recursive: true, force: true });
});

async function expectTableMatchesNode(ids: number[]): Promise<void> {
  await waitForAnalysis(app.page, ids);
  const shown = await shownTop(app.page);
  const want = await ref.top(ids, 5);
  expect(shown.map((r) => r.id)).toEqual(want.map((r) => r.id));
  shown.forEach((r, i) => expect(Math.abs(r.prob - want[i].prob)).toBeLessThan(PROB_TOL));
  // The word-level decoder joins words with a space: each candidate reads " word" after the input.
  expect(shown.map((r) => r.text)).toEqual(want.map((r) => ` ${TINY_VOCAB[r.id]}`));
}

describe('next-token table', () => {
  it('shows the tokens and top-5 that the engine computes in Node for a text prompt', async () => {
    const prompt = 'the cat sat on the';
    await app.page.getByTestId('prompt').fill(prompt);
    const ids = ref.tokenizer!.encode(prompt);
    expect(ids[0]).toBe(1); // <s>
    await expectTableMatchesNode(ids);
    await app.shot('explore-text');
  });

  it('does the same for token ids typed in', async () => {
    const before = await shownTokenIds(app.page);
    await app.page.getByTestId('input-mode').selectOption('ids');
    // Switching carries the input over as the ids of its tokens.
    await expect.poll(() => app.page.getByTestId('prompt').inputValue()).toBe(before.join(' '));
    await app.page.getByTestId('prompt').fill('1, 20 25 4 9');
    await expectTableMatchesNode([1, 20, 25, 4, 9]);
    await app.page.getByTestId('input-mode').selectOption('text');
  });

  it('renders the prompt through the chat template when asked', async () => {
    const prompt = 'the dog ran';
    await app.page.getByTestId('prompt').fill(prompt);
    await waitForAnalysis(app.page, ref.tokenizer!.encode(prompt));
    await app.page.getByLabel('chat template').check();
    const ids = ref.tokenizer!.applyChatTemplate([{ role: 'user', content: prompt }], { addGenerationPrompt: true });
    await expectTableMatchesNode(ids);
    await app.page.getByLabel('chat template').uncheck();
  });

  it('shows model text as text, never as markup', async () => {
    await app.page.getByTestId('prompt').fill('<b>the</b> <img src=x onerror=alert(1)> cat');
    await waitForAnalysis(app.page, ref.tokenizer!.encode('<b>the</b> <img src=x onerror=alert(1)> cat'));
    expect(await app.page.locator('[data-testid="tokens"] b, [data-testid="tokens"] img').count()).toBe(0);
  });
});

describe('generate', () => {
  it('streams the greedy continuation the engine produces in Node', async () => {
    const prompt = 'Paris is the capital of';
    await app.page.getByTestId('prompt').fill(prompt);
    const ids = ref.tokenizer!.encode(prompt);
    await waitForAnalysis(app.page, ids);
    await app.page.getByLabel('max new tokens').fill('12');
    await app.page.getByTestId('generate').click();
    await app.page.getByTestId('generate').filter({ hasText: 'Generate (greedy)' }).waitFor({ timeout: 120_000 });
    const want = await ref.model.generate(ids, { maxNewTokens: 12, temperature: 0, stop: [2] });
    expect(await shownTokenIds(app.page, 'continuation-tokens')).toEqual(want);
    expect(await app.page.getByTestId('continuation').textContent()).toBe(want.map((id) => ` ${TINY_VOCAB[id]}`).join(''));
    await app.shot('explore-generate');
  });
});

describe('a model without a tokenizer, loaded by URL', () => {
  it('loads from the URL field and switches the input to token ids', async () => {
    await app.page.getByTestId('model-url').fill('/custom/bench/');
    await app.page.getByTestId('model-url-load').click();
    await app.page.getByTestId('model-status').filter({ hasText: /model: .*\/custom\/bench\// }).waitFor({ timeout: 120_000 });
    expect(await app.page.getByTestId('model-status').textContent()).toMatch(/llama · 4L × 256/);
    expect(await app.page.getByTestId('input-mode').inputValue()).toBe('ids');
  });

  it('keeps accepting keystrokes while the worker generates', async () => {
    const page = app.page;
    const box = page.getByTestId('prompt');
    await box.fill('1 2 3');
    await page.getByLabel('max new tokens').fill('100');
    // Each keystroke's input event records whether generation was still running and how many tokens had
    // streamed: the property is "keys are handled while the worker computes", not a wall-clock bound.
    await page.evaluate(() => {
      const w = window as unknown as { __keys: { generating: boolean; tokens: number }[] };
      w.__keys = [];
      document.querySelector('[data-testid="prompt"]')!.addEventListener('input', () => {
        const button = document.querySelector('[data-testid="generate"]')?.textContent ?? '';
        const tokens = document.querySelectorAll('[data-testid="continuation-tokens"] li').length;
        w.__keys.push({ generating: /Generating/.test(button), tokens });
      });
    });
    await page.getByTestId('generate').click();
    await page.getByTestId('generate').filter({ hasText: 'Generating' }).waitFor();
    await box.focus();
    await page.keyboard.press('End');
    const keys = () => page.evaluate(() => (window as unknown as { __keys: { generating: boolean; tokens: number }[] }).__keys);
    // Type until a token has streamed between two handled keystrokes (at least 8 keys), however slow the machine.
    let typed = '';
    for (let i = 4; ; i++) {
      const word = ` ${i}`;
      await page.keyboard.type(word);
      typed += word;
      const seen = await keys();
      if (seen.length >= 8 && seen[seen.length - 1].tokens > seen[0].tokens) break;
      if (!seen[seen.length - 1]?.generating) break; // generation ended first: the assertions below say so
    }
    const seen = await keys();
    await app.shot('explore-typing');
    console.log(`[e2e] typing: ${seen.length} keys handled, tokens streamed ${seen[0].tokens} → ${seen[seen.length - 1].tokens}`);

    expect(await box.inputValue()).toBe('1 2 3' + typed);
    // Every key was handled while the worker was generating, and tokens streamed in between keys.
    expect(seen.every((k) => k.generating)).toBe(true);
    expect(seen[seen.length - 1].tokens).toBeGreaterThan(seen[0].tokens);
    await page.getByTestId('generate').filter({ hasText: 'Generate (greedy)' }).waitFor({ timeout: 300_000 });
  });
});
