// Node module hook: `import text from './file.wgsl?raw'` yields the file's text, as Vite does,
// so the CLI and scripts run the same sources as the browser build.
import { readFile } from 'node:fs/promises';

export async function load(url, context, next) {
  if (url.endsWith('?raw')) {
    const text = await readFile(new URL(url.slice(0, -4)), 'utf8');
    return { format: 'module', source: `export default ${JSON.stringify(text)};`, shortCircuit: true };
  }
  return next(url, context);
}
