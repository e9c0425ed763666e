// Build the app once per e2e run (vite's JS API, the project's vite.config.ts) into dist/.
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const DIST = `${REPO}dist`;

export async function buildApp(): Promise<void> {
  await build({ root: REPO, configFile: `${REPO}vite.config.ts`, logLevel: 'warn', build: { outDir: DIST, emptyOutDir: true } });
}
