// One browser + server per test file: open the built app, collect console errors, save screenshots.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { DIST, REPO } from './build';
import { launchChromium } from './browser';
import { serveStatic, type StaticServer } from './server';

export const SHOTS = join(REPO, 'test-output', 'e2e');

export interface App {
  browser: Browser;
  page: Page;
  server: StaticServer;
  /** console.error / pageerror / worker errors seen so far. */
  errors: string[];
  shot(name: string): Promise<void>;
  close(): Promise<void>;
}

export async function openApp(opts: { webgpu?: boolean; mounts?: Record<string, string>; hash?: string } = {}): Promise<App> {
  const server = await serveStatic(DIST, opts.mounts);
  const browser = await launchChromium({ webgpu: opts.webgpu ?? true });
  const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  // Clicks and waits are for states (a button enabled, a row shown); on a busy 2-core machine reaching a state
  // can take far longer than Playwright's 30 s default, so each wait gets the test's own budget instead.
  page.setDefaultTimeout(150_000);
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('worker', (w) => w.on('console', (m) => m.type() === 'error' && errors.push(`[worker] ${m.text()}`)));
  await page.goto(server.url + (opts.hash ?? ''));
  mkdirSync(SHOTS, { recursive: true });
  return {
    browser,
    page,
    server,
    errors,
    shot: async (name) => void (await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true })),
    close: async () => {
      await browser.close();
      await server.close();
    },
  };
}
