// The market-entry page, mounted on its own (tests/e2e/market-entry/index.html), in Chromium with WebGPU on
// SwiftShader: the fitted slopes it shows match the CLI's JSON, the charts draw, the Monte Carlo runs on WebGPU and
// agrees with the closed form, and a CSV export downloads.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from 'vite';
import { marketEntryCommand } from '../../src/cli/market-entry';
import { REPO } from './harness/build';
import { launchChromium } from './harness/browser';
import { serveStatic, type StaticServer } from './harness/server';
import type { Browser, Page } from 'playwright-core';

const OUT = `${REPO}test-output/market-entry-dist`;

describe('market-entry page', () => {
  let server: StaticServer;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];
  beforeAll(async () => {
    await build({
      root: REPO,
      configFile: `${REPO}vite.config.ts`,
      logLevel: 'warn',
      build: { outDir: OUT, emptyOutDir: true, rollupOptions: { input: `${REPO}tests/e2e/market-entry/index.html` } },
    });
    server = await serveStatic(OUT);
    browser = await launchChromium({ webgpu: true });
    page = await browser.newPage({ viewport: { width: 1200, height: 900 }, acceptDownloads: true });
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server.url}tests/e2e/market-entry/index.html`);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('shows the same fitted exponents and slopes as `latentlab market-entry --json`', async () => {
    await expect.poll(() => page.getByTestId('status').textContent(), { timeout: 120_000 }).toMatch(/ready/);
    const cli = (await marketEntryCommand({ json: true, 'no-mc': true }, null)) as { nu: number; loss_exponents: number[]; entry_slopes: number[] };
    const num = async (id: string) => Number(await page.getByTestId(id).textContent());
    expect(await num('nu')).toBeCloseTo(cli.nu, 6);
    for (let i = 0; i < 3; i++) {
      expect(Math.abs((await num(`loss-exponent-${i}`)) - cli.loss_exponents[i])).toBeLessThan(2e-3);
      expect(Math.abs((await num(`entry-slope-${i}`)) - cli.entry_slopes[i])).toBeLessThan(2e-3);
    }
    // and those numbers sit near the theorems' (ν = 1.5 at the defaults)
    expect(Math.abs((await num('loss-exponent-1')) - 0.6)).toBeLessThan(0.03);
    expect(Math.abs((await num('entry-slope-1')) - 0.4)).toBeLessThan(0.03);
    for (const c of ['loss', 'exponent', 'entry', 'entry-slope', 'choices', 'gap']) {
      expect(await page.getByTestId(`chart-${c}`).locator('canvas').count()).toBe(1);
    }
    expect(await page.getByTestId('reading').textContent()).toMatch(/N\^−0\.59/);
  });

  it('recomputes when a slider moves (δ = 2 gives ν = δ+γ = 2.5)', async () => {
    await page.getByTestId('slider-delta').fill('2');
    await expect.poll(async () => page.getByTestId('nu').textContent(), { timeout: 120_000 }).toBe('2.500');
    await expect.poll(() => page.getByTestId('status').textContent(), { timeout: 120_000 }).toMatch(/ready/);
    await page.getByTestId('slider-delta').fill('1');
    await expect.poll(async () => page.getByTestId('nu').textContent(), { timeout: 120_000 }).toBe('1.500');
  });

  it('runs the Monte Carlo on WebGPU and it agrees with the closed form within 5%', async () => {
    await page.getByTestId('mc-run').click();
    const err = page.getByTestId('mc-max-rel-err');
    await err.waitFor({ timeout: 170_000 });
    const pct = Number((await err.textContent())!.replace('%', ''));
    expect(pct).toBeLessThan(5);
    const curvePct = Number((await page.getByTestId('mc-curve-rel-err').textContent())!.replace('%', ''));
    expect(curvePct).toBeLessThan(10); // includes N = P/2, where the O(1/N) finite-size error is largest
    expect(await page.locator('section.mc').textContent()).toMatch(/WebGPU/);
    expect(await page.getByTestId('chart-mc').locator('canvas').count()).toBe(1);
  });

  it('exports a table as CSV', async () => {
    const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-entry_threshold-csv').click()]);
    const text = readFileSync((await dl.path())!, 'utf8');
    const lines = text.trim().split(/\r?\n/);
    expect(lines[0]).toBe('N_I,incumbent_L1,N_E_star,local_slope');
    expect(lines.length).toBeGreaterThan(20);
    expect(lines[1].split(',').map(Number).every(Number.isFinite)).toBe(true);
    expect(errors).toEqual([]);
  });
});
