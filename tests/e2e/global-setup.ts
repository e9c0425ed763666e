// Builds the app once before the e2e files run; each file starts its own server and browser.
import { buildApp } from './harness/build';

export default async function setup(): Promise<void> {
  const t0 = Date.now();
  await buildApp();
  console.log(`[e2e] vite build: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}
