// Runs bench/page in Debian Chromium (WebGPU on whatever adapter Chromium picks) and returns its figures.
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { serveStatic } from '../tests/e2e/harness/server';
import { launchChromium } from '../tests/e2e/harness/browser';
import type { ForwardFigure, MatmulFigure, TrainFigure } from './measure';
import type { DtypeMatmulFigure } from './dtypes';

const ROOT = fileURLToPath(new URL('./page/', import.meta.url));
const OUT = fileURLToPath(new URL('../dist-bench/', import.meta.url));

export async function chromiumFigures(models: Record<string, string>, train: Record<string, string>): Promise<{ adapter: string; matmul: MatmulFigure[]; forward: ForwardFigure[]; training: TrainFigure[]; dtypeMatmul: DtypeMatmulFigure[] }> {
  await build({ root: ROOT, configFile: false, plugins: [svelte()], logLevel: 'warn', build: { outDir: OUT, emptyOutDir: true, target: 'es2022' } });
  const mounts: Record<string, string> = {};
  Object.values(models).forEach((dir, i) => (mounts[`/bench-models/${i}/`] = `${dir}/`));
  Object.values(train).forEach((dir, i) => (mounts[`/bench-train/${i}/`] = `${dir}/`));
  const server = await serveStatic(OUT, mounts);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(`${server.url}/index.html?models=${encodeURIComponent(JSON.stringify(Object.keys(models)))}&train=${encodeURIComponent(JSON.stringify(Object.keys(train)))}`);
    await page.waitForFunction(() => (window as unknown as { benchResult?: unknown }).benchResult, null, { timeout: 600_000, polling: 1000 });
    const r = await page.evaluate(() => (window as unknown as { benchResult: any }).benchResult);
    if (r.error) throw new Error(`bench page: ${r.error}`);
    return r;
  } finally {
    await browser.close();
    await server.close();
  }
}
