// The layering check (`npm run check:layers`, which scripts/test.sh runs on this tree before the unit tests):
// dependency-cruiser with .dependency-cruiser.cjs refuses an upward import, including a type-only one, a neutral
// module that imports a layer, and tools reaching into the CLI.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, test } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');

function cruise(cwd: string): Promise<{ code: number; out: string }> {
  return new Promise((ok) => {
    execFile(process.execPath, [BIN, 'src', 'tools', '--config', CONFIG], { cwd, timeout: 120_000 }, (e, stdout, stderr) =>
      ok({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    );
  });
}

const tmp = mkdtempSync(join(tmpdir(), 'latentlab-layers-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

test('upward imports are refused by rule name', async () => {
  const files: Record<string, string> = {
    'src/gpu/device.ts': 'export const gpu = 1;\n',
    'src/engine/model.ts': "import type { Page } from '../ui/page';\nexport const m: Page | null = null;\n",
    'src/ui/page.ts': "import { gpu } from '../gpu/device';\nexport type Page = { gpu: typeof gpu };\n",
    'src/methods/lens.ts': "import { x } from '../workers/api';\nexport const y = x;\n",
    'src/workers/api.ts': 'export const x = 2;\n',
    'src/common/rng.ts': "import { m } from '../engine/model';\nexport const r = m;\n",
    'src/cli/main.ts': "export const main = 0;\n",
    'tools/card.ts': "import { main } from '../src/cli/main';\nexport const c = main;\n",
  };
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(tmp, path)), { recursive: true });
    writeFileSync(join(tmp, path), text);
  }
  const r = await cruise(tmp);
  expect(r.code).not.toBe(0);
  expect(r.out).toMatch(/engine-imports-downward: src\/engine\/model\.ts → src\/ui\/page\.ts/);
  expect(r.out).toMatch(/methods-imports-downward: src\/methods\/lens\.ts → src\/workers\/api\.ts/);
  expect(r.out).toMatch(/common-is-neutral: src\/common\/rng\.ts → src\/engine\/model\.ts/);
  expect(r.out).toMatch(/tools-beside-the-cli: tools\/card\.ts → src\/cli\/main\.ts/);
  expect(r.out).not.toMatch(/src\/ui\/page\.ts → src\/gpu/);
});
