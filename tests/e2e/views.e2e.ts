// Explore views in the browser against the engine in Node, on the tiny chat model: logit lens, attention,
// activation patching (with progress and cancel), steering, and the run history across a reload.
import { readFileSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HookSpec } from '../../src/engine/hooks';
import { openApp, type App } from './harness/app';
import { shownTokenIds, shownTop, waitForAnalysis } from './harness/page';
import { nodeReference, type NodeRef } from './harness/reference';
import { TINY_VOCAB, writeTinyChatModel } from './harness/tiny-model';

let app: App;
let ref: NodeRef;
let dir: string;
const L = 2;
const H = 4;
const V = TINY_VOCAB.length;

beforeAll(async () => {
  dir = writeTinyChatModel();
  ref = await nodeReference(dir);
  app = await openApp({ mounts: { '/models/': `${dirname(dir)}/` } });
  await app.page.getByTestId('model-status').filter({ hasText: 'e2e-tiny' }).waitFor({ timeout: 60_000 });
});
afterAll(async () => {
  await app?.close();
  ref?.model.dispose();
  rmSync(dirname(dir), { recursive: true, force: true });
});

const tab = (page: Page, id: string) => page.getByTestId(`view-tab-${id}`).click();
const argmax = (row: ArrayLike<number>) => {
  let b = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[b]) b = i;
  return b;
};

/** Waits for a button to read `idle` again (the job finished), failing early on an error shown by `errorId`. */
async function waitIdle(page: Page, buttonId: string, idle: RegExp, errorId: string, timeout = 60_000): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const text = (await page.getByTestId(buttonId).textContent()) ?? '';
    if (idle.test(text)) break;
    if (Date.now() - t0 > timeout) throw new Error(`${buttonId} still reads "${text}"`);
    await page.waitForTimeout(100);
  }
  const err = await page.getByTestId(errorId).textContent({ timeout: 50 }).catch(() => null);
  if (err) throw new Error(`the page shows an error: ${err}`);
}

const cells = (page: Page, testid: string) =>
  page.locator(`[data-testid="${testid}"] td.cell`).evaluateAll((tds) =>
    tds.map((td) => ({ row: Number(td.getAttribute('data-row')), col: Number(td.getAttribute('data-col')), value: td.getAttribute('data-value') === '' ? null : Number(td.getAttribute('data-value')) })),
  );

const prompt = 'the cat sat on the';
let ids: number[];

describe('logit lens', () => {
  it("shows layers × positions, and the last layer's cell at the last position is the tokens view's top next token", async () => {
    const page = app.page;
    await page.getByTestId('prompt').fill(prompt);
    ids = ref.tokenizer!.encode(prompt);
    await waitForAnalysis(page, ids);
    const top = await shownTop(page);
    // A generation from the tokens view is a run too.
    await page.getByLabel('max new tokens').fill('4');
    await page.getByTestId('generate').click();
    await page.getByTestId('generate').filter({ hasText: 'Generate (greedy)' }).waitFor({ timeout: 60_000 });
    await expect.poll(() => page.getByTestId('view-tab-runs').textContent()).toBe('Runs (1)');
    await tab(page, 'lens');
    await page.getByTestId('lens-run').click();
    await waitIdle(page, 'lens-run', /Run logit lens/, 'lens-error');
    const grid = await page.getByTestId('lens-cell').evaluateAll((tds) =>
      tds.map((td) => ({ row: Number(td.dataset.row), pos: Number(td.dataset.pos), id: Number(td.dataset.id), prob: Number(td.dataset.prob), text: td.dataset.text })),
    );
    expect(grid).toHaveLength((L + 1) * ids.length);
    const last = grid.filter((c) => c.row === L);
    expect(last.find((c) => c.pos === ids.length - 1)!.id).toBe(top[0].id);
    expect(last.find((c) => c.pos === ids.length - 1)!.prob).toBeCloseTo(top[0].prob, 4);
    // Every position of the last row is the engine's own prediction there, computed in Node.
    const { logits } = await ref.model.forward(ids, { logits: 'all' });
    for (const c of last) expect(c.id).toBe(argmax(logits!.subarray(c.pos * V, (c.pos + 1) * V)));
    expect(last.map((c) => c.text)).toEqual(last.map((c) => ` ${TINY_VOCAB[c.id]}`));
    // Hover: the top-5 of a cell.
    await page.locator('[data-testid="lens-cell"][data-row="1"][data-pos="2"]').hover();
    expect(await page.getByTestId('lens-detail').locator('li').count()).toBe(5);
    expect(await page.getByTestId('lens-chart').locator('canvas').count()).toBeGreaterThan(0);
    await app.shot('views-lens');
  });
});

describe('attention', () => {
  it('shows one thumbnail per layer and head; a click enlarges it and a hovered token is focused', async () => {
    const page = app.page;
    await tab(page, 'attention');
    await page.getByTestId('attention-run').click();
    await waitIdle(page, 'attention-run', /Show attention/, 'attention-error');
    const thumbs = await page.getByTestId('attn-thumb').evaluateAll((bs) => bs.map((b) => `${b.getAttribute('data-layer')}:${b.getAttribute('data-head')}`));
    expect(thumbs).toEqual(Array.from({ length: L * H }, (_, i) => `${Math.floor(i / H)}:${i % H}`));
    await page.locator('[data-testid="attn-thumb"][data-layer="1"][data-head="2"]').click();
    const big = page.getByTestId('attention-enlarged');
    expect(await big.getAttribute('data-layer')).toBe('1');
    expect(await big.getAttribute('data-head')).toBe('2');
    // Thumbnails draw the causal pattern: position 0 attends only to itself (weight 1, full blue); keys after the
    // query are masked (grey).
    const px = await page.locator('[data-testid="attn-thumb"][data-layer="0"][data-head="0"] canvas').evaluate((c: HTMLCanvasElement, T: number) => {
      const ctx = c.getContext('2d')!;
      const cell = (c.width - 2 * (window.devicePixelRatio || 1)) / T;
      const at = (q: number, k: number) => Array.from(ctx.getImageData(Math.floor((k + 0.5) * cell), Math.floor((q + 0.5) * cell), 1, 1).data.slice(0, 3));
      return { self0: at(0, 0), masked: at(0, T - 1) };
    }, ids.length);
    expect(px.self0).toEqual([31, 95, 191]);
    expect(px.masked).toEqual([244, 245, 247]);
    await page.getByTestId('attention-tokens').locator('li').nth(3).hover();
    const focused = () => page.getByTestId('attention-tokens').locator('li.on').evaluateAll((lis) => lis.map((li) => li.textContent));
    expect(await focused()).toEqual(['·sat']);
    // Pointing at a row of the enlarged map focuses that query token.
    const box = (await big.locator('canvas').boundingBox())!;
    await page.mouse.move(box.x + box.width - 5, box.y + box.height - 5);
    expect(await focused()).toEqual(['·the']);
    await app.shot('views-attention');
  });
});

describe('activation patching', () => {
  const clean = 'Paris is the capital of France';
  const corrupt = 'Rome is the capital of France';

  it('refuses prompts of different token lengths with a clear message', async () => {
    const page = app.page;
    await tab(page, 'patching');
    await page.getByTestId('patch-clean').fill(clean);
    await page.getByTestId('patch-corrupt').fill('Rome is capital of France');
    await page.getByTestId('patch-run').click();
    await expect.poll(() => page.getByTestId('patch-error').textContent().catch(() => ''), { timeout: 20_000 }).toMatch(/7 tokens and the corrupted one 6/);
  });

  it('recovers ≈ 1 at the final stream of the last position; cells match the engine in Node', async () => {
    const page = app.page;
    await page.getByTestId('patch-corrupt').fill(corrupt);
    await page.getByTestId('patch-answer').fill('Paris');
    await page.getByTestId('patch-wrong').fill('Rome');
    await page.getByTestId('patch-run').click();
    await waitIdle(page, 'patch-run', /Run patching/, 'patch-error');
    const c = ref.tokenizer!.encode(clean);
    const x = ref.tokenizer!.encode(corrupt);
    const T = c.length;
    const resid = await cells(page, 'patch-resid');
    const heads = await cells(page, 'patch-heads');
    expect(resid).toHaveLength((L + 1) * T);
    expect(heads).toHaveLength(L * H);
    const at = (row: number, col: number) => resid.find((v) => v.row === row && v.col === col)!.value!;
    expect(at(L, T - 1)).toBeCloseTo(1, 3);
    // Node: one residual cell and one head, by the same hooks.
    const [a, w] = [TINY_VOCAB.indexOf('Paris'), TINY_VOCAB.indexOf('Rome')];
    const metric = async (ids: number[], hooks: HookSpec[] = []) => {
      const row = (await ref.model.forward(ids, { hooks, logits: 'last' })).logits!;
      return row[a] - row[w];
    };
    const mc = await metric(c);
    const mx = await metric(x);
    const name = 'blocks.1.hook_resid_pre';
    const act = (await ref.model.forward(c, { hooks: [{ name, op: 'read' }], logits: 'none' })).cache[name];
    expect(at(1, 0)).toBeCloseTo(((await metric(x, [{ name, op: 'replace', value: act, positions: [0] }])) - mx) / (mc - mx), 3);
    const z = 'blocks.0.attn.hook_z';
    const zAct = (await ref.model.forward(c, { hooks: [{ name: z, op: 'read' }], logits: 'none' })).cache[z];
    const head = heads.find((v) => v.row === 0 && v.col === 1)!.value!;
    expect(head).toBeCloseTo(((await metric(x, [{ name: z, op: 'replace', value: zAct, heads: [1] }])) - mx) / (mc - mx), 3);
    expect(await page.getByTestId('patch-metrics').textContent()).toContain(`clean ${mc.toFixed(3)}`);
    // The heatmap downloads as a PNG of its canvas.
    const [png] = await Promise.all([page.waitForEvent('download'), page.getByTestId('patch-resid').getByRole('button', { name: 'PNG' }).click()]);
    const bytes = readFileSync((await png.path())!);
    expect(Array.from(bytes.subarray(0, 8))).toEqual([137, 80, 78, 71, 13, 10, 26, 10]);
    expect(bytes.readUInt32BE(16)).toBe(await page.getByTestId('patch-resid').locator('canvas').evaluate((c: HTMLCanvasElement) => c.width));
    await app.shot('views-patching');
  });

  it('shows progress and can be cancelled, keeping the cells measured so far', async () => {
    const page = app.page;
    // The worker streams progress without waiting for the page, so a 7-token sweep (29 cells) can end before a
    // cancel lands on a busy machine: eight sentences give a sweep several times longer than the cancel's path.
    await page.getByTestId('patch-clean').fill(Array(8).fill(clean).join(' '));
    await page.getByTestId('patch-corrupt').fill(Array(8).fill(corrupt).join(' '));
    await page.getByTestId('patch-run').click();
    await page.getByTestId('patch-progress').waitFor({ timeout: 20_000 });
    // Cancel once this sweep (not the previous run's finished bar, which has another total) has measured a cell.
    const bar = async () => page.getByTestId('patch-progress').evaluate((el: HTMLProgressElement) => ({ done: el.value, total: el.max })).catch(() => ({ done: 0, total: 0 }));
    await expect.poll(async () => { const b = await bar(); return b.total > 29 && b.done > 0; }, { timeout: 60_000 }).toBe(true);
    await page.getByTestId('patch-cancel').click();
    await waitIdle(page, 'patch-run', /Run patching/, 'patch-error');
    const note = (await page.getByTestId('patch-cancelled').textContent())!;
    const [done, total] = /after (\d+) of (\d+)/.exec(note)!.slice(1).map(Number);
    expect(done).toBeGreaterThan(0);
    expect(done).toBeLessThan(total);
    const all = [...(await cells(page, 'patch-resid')), ...(await cells(page, 'patch-heads'))];
    expect(all.filter((v) => v.value !== null)).toHaveLength(done);
  });
});

describe('steering', () => {
  it('coefficient 0 gives the unsteered text (the engine in Node agrees); a large coefficient changes it', async () => {
    const page = app.page;
    await tab(page, 'steering');
    await page.getByTestId('steer-vector').click();
    await expect.poll(() => page.getByTestId('steer-vector-info').textContent().catch(() => ''), { timeout: 30_000 }).toMatch(/‖v‖ = [\d.]+ · 32 wide/);
    await page.getByTestId('steer-prompt').fill('the cat');
    await page.getByTestId('steer-coeff').fill('0');
    await page.getByTestId('steer-run').click();
    await waitIdle(page, 'steer-run', /Generate both/, 'steer-error');
    const unsteered = await page.getByTestId('steer-unsteered').textContent();
    expect(await page.getByTestId('steer-steered').textContent()).toBe(unsteered);
    const want = await ref.model.generate(ref.tokenizer!.encode('the cat'), { maxNewTokens: 16, temperature: 0, stop: [2] });
    expect(unsteered).toBe(want.map((id) => ` ${TINY_VOCAB[id]}`).join(''));

    await page.getByTestId('steer-coeff').fill('60');
    await page.getByTestId('steer-run').click();
    await waitIdle(page, 'steer-run', /Generate both/, 'steer-error');
    expect(await page.getByTestId('steer-unsteered').textContent()).toBe(unsteered);
    const steered = await page.getByTestId('steer-steered').textContent();
    expect(steered).not.toBe(unsteered);
    await app.shot('views-steering');

    // The vector saved as .npy and loaded back steers the same way.
    const norm = /‖v‖ = [\d.]+/.exec((await page.getByTestId('steer-vector-info').textContent())!)![0];
    const [npy] = await Promise.all([page.waitForEvent('download'), page.getByTestId('steer-vector-info').getByRole('button', { name: '.npy' }).click()]);
    await page.getByTestId('steer-file').setInputFiles({ name: 'v.npy', mimeType: 'application/octet-stream', buffer: readFileSync((await npy.path())!) });
    await expect.poll(() => page.getByTestId('steer-vector-info').textContent()).toMatch(new RegExp(`^file v\\.npy · ${norm}`));
    await page.getByTestId('steer-run').click();
    await waitIdle(page, 'steer-run', /Generate both/, 'steer-error');
    expect(await page.getByTestId('steer-steered').textContent()).toBe(steered);
    await page.getByTestId('steer-file').setInputFiles({ name: 'bad.json', mimeType: 'application/json', buffer: Buffer.from('[1, 2, 3]') });
    await expect.poll(() => page.getByTestId('steer-error').textContent().catch(() => '')).toMatch(/bad\.json: the vector has 3 entries; this model's residual stream has 32/);
  });
});

describe('run history', () => {
  it('keeps every run across a reload; a run reopens, renames, exports, imports and deletes', async () => {
    const page = app.page;
    await tab(page, 'runs');
    const kinds = async () => page.getByTestId('run').evaluateAll((lis) => lis.map((li) => li.getAttribute('data-kind')));
    // Newest first: steering ×3, patching ×2 (one cancelled), attention, lens, the tokens view's generation.
    const all = ['steering', 'steering', 'steering', 'patching', 'patching', 'attention', 'lens', 'tokens'];
    expect(await kinds()).toEqual(all);
    const lensRun = page.locator('[data-testid="run"][data-kind="lens"]');
    await lensRun.getByTestId('run-rename').click();
    await page.getByTestId('run-name-input').fill('cat lens');
    await page.getByTestId('run-name-input').press('Enter');
    await expect.poll(() => lensRun.getByTestId('run-open').textContent()).toBe('cat lens');

    // Reload: the history comes back from IndexedDB, and a run reopens with its results.
    await page.reload();
    await page.getByTestId('model-status').filter({ hasText: 'e2e-tiny' }).waitFor({ timeout: 60_000 });
    await tab(page, 'runs');
    await expect.poll(kinds).toEqual(all);
    await page.locator('[data-testid="run"][data-kind="lens"]').getByTestId('run-open').click();
    expect(await page.getByTestId('opened-run').textContent()).toContain('cat lens');
    expect(await page.getByTestId('prompt').inputValue()).toBe(prompt);
    await expect.poll(() => shownTokenIds(page)).toEqual(ids);
    const lastCell = page.locator(`[data-testid="lens-cell"][data-row="${L}"][data-pos="${ids.length - 1}"]`);
    const { logits } = await ref.model.forward(ids, { logits: 'last' });
    expect(Number(await lastCell.getAttribute('data-id'))).toBe(argmax(logits!));
    await app.shot('views-reopened');

    // A patching run reopens with its heatmap.
    await tab(page, 'runs');
    await page.locator('[data-testid="run"][data-kind="patching"]').nth(1).getByTestId('run-open').click();
    const resid = await cells(page, 'patch-resid');
    const T = ref.tokenizer!.encode('Paris is the capital of France').length;
    expect(resid.find((v) => v.row === L && v.col === T - 1)!.value!).toBeCloseTo(1, 3);

    // So does an attention run.
    await tab(page, 'runs');
    await page.locator('[data-testid="run"][data-kind="attention"]').getByTestId('run-open').click();
    expect(await page.getByTestId('attn-thumb').count()).toBe(L * H);

    // Export (JSON, CSV), import, delete.
    await tab(page, 'runs');
    const [json] = await Promise.all([page.waitForEvent('download'), page.locator('[data-testid="run"][data-kind="lens"]').getByTestId('run-json').click()]);
    const text = readFileSync((await json.path())!, 'utf8');
    const parsed = JSON.parse(text);
    expect(parsed.format).toBe('latentlab-runs');
    expect(parsed.runs[0]).toMatchObject({ kind: 'lens', name: 'cat lens', model: 'e2e-tiny' });
    expect(parsed.runs[0].result.lens.top[L][ids.length - 1][0].id).toBe(argmax(logits!));
    const [csv] = await Promise.all([page.waitForEvent('download'), page.locator('[data-testid="run"][data-kind="patching"]').nth(1).getByTestId('run-csv').click()]);
    const csvText = readFileSync((await csv.path())!, 'utf8');
    expect(csvText.split('\n')[0]).toBe('grid,row,column,recovery');
    expect(csvText.split('\n')).toHaveLength(1 + (L + 1) * T + L * H);
    await page.getByTestId('runs-import').setInputFiles({ name: 'cat-lens.json', mimeType: 'application/json', buffer: Buffer.from(text) });
    await expect.poll(kinds).toEqual([...all.slice(0, 7), 'lens', 'tokens']);
    await page.locator('[data-testid="run"][data-kind="attention"]').getByTestId('run-delete').click();
    await expect.poll(kinds).toEqual(['steering', 'steering', 'steering', 'patching', 'patching', 'lens', 'lens', 'tokens']);
    await app.shot('views-runs');
    expect(app.errors).toEqual([]);
  });
});
