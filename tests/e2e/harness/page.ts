// Reading the Explore page: what the token strip and the next-token table show.
import type { Page } from 'playwright-core';

export interface ShownTop {
  id: number;
  prob: number;
  text: string;
}

export async function shownTokenIds(page: Page, testId = 'tokens'): Promise<number[]> {
  return page.getByTestId(testId).locator('li').evaluateAll((lis) => lis.map((li) => Number(li.getAttribute('data-id'))));
}

export async function shownTop(page: Page): Promise<ShownTop[]> {
  return page.locator('[data-testid="top-tokens"] tbody tr').evaluateAll((rows) =>
    rows.map((r) => ({ id: Number(r.getAttribute('data-id')), prob: Number(r.getAttribute('data-prob')), text: r.getAttribute('data-text') ?? '' })),
  );
}

/** Waits until the strip shows `ids` and no forward is running, i.e. the table belongs to that input. */
export async function waitForAnalysis(page: Page, ids: number[], timeout = 60_000): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const shown = await shownTokenIds(page);
    const state = await page.getByTestId('forward-state').textContent();
    if (JSON.stringify(shown) === JSON.stringify(ids) && !/computing/.test(state ?? '')) return;
    const busy = /computing/.test(state ?? '');
    const err = busy ? null : await page.getByTestId('explore-error').textContent({ timeout: 10 }).catch(() => null);
    if (err) throw new Error(`the page shows an error: ${err}`);
    if (Date.now() - t0 > timeout) throw new Error(`page shows tokens ${JSON.stringify(shown)} (${state}), want ${JSON.stringify(ids)}`);
    await page.waitForTimeout(100);
  }
}

const squash = (t: string | null) => (t ?? '').replace(/\s+/g, ' ').trim();

/** For polls: an element's text, or '' when it is not shown yet (a short wait, never a long one). */
export function textNow(page: Page, testId: string): Promise<string> {
  return page.getByTestId(testId).textContent({ timeout: 100 }).catch(() => '').then(squash);
}

/** An element that must be there: waits for it however busy the machine is, then its text. */
export async function shownText(page: Page, testId: string): Promise<string> {
  return squash(await page.getByTestId(testId).textContent());
}
