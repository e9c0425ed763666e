// The CLI with every kind of --model: a Hub id served by a local Hub-layout server (first run downloads,
// second run sends no request), a gated repo, a .gguf file, --dtype, the memory budget, and `models list|rm`.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { loadRefModel, referenceGreedy } from './reference/reference';
import { serveHub, type FakeHub } from './helpers/hub-server';
import { llamaFolderGguf } from './fixtures/hf-to-gguf';

const exec = promisify(execFile);
const BIN = fileURLToPath(new URL('../bin/latentlab.js', import.meta.url));
const STORIES = fileURLToPath(new URL('../../shared/models/stories260K', import.meta.url));

async function cli(...args: string[]): Promise<{ json: any; stderr: string }> {
  const { stdout, stderr } = await exec(process.execPath, [BIN, ...args], { timeout: 90_000 });
  return { json: JSON.parse(stdout), stderr };
}
const fails = (...args: string[]) => exec(process.execPath, [BIN, ...args], { timeout: 90_000 });


describe('CLI model sources', () => {
  let hub: FakeHub;
  let cache: string;
  let want: number[];
  const files = () => ({ 'config.json': new Uint8Array(readFileSync(join(STORIES, 'config.json'))), 'model.safetensors': new Uint8Array(readFileSync(join(STORIES, 'model.safetensors'))) });
  beforeAll(async () => {
    hub = await serveHub({ 'test/stories260K': { files: files() }, 'test/gated': { files: files(), token: 'hf_secret' } });
    cache = mkdtempSync(join(tmpdir(), 'latentlab-cli-cache-'));
    want = referenceGreedy(loadRefModel(STORIES), [1], 30);
  });
  afterAll(() => hub.close());
  const gen = ['--ids', '1', '--max-new-tokens', '30', '--temperature', '0', '--json'];

  test('a Hub id downloads into the cache and generates; the second run sends no request', async () => {
    const first = await cli('generate', '--model', 'test/stories260K', '--hub-url', hub.url, '--cache-dir', cache, '--dtype', 'f32', ...gen);
    expect(first.json.ids).toEqual(want);
    expect(first.stderr).toMatch(/download: model\.safetensors 1\.0\/1\.0 MiB, total 1\.0\/1\.0 MiB/);
    const seen = hub.requests.length;
    expect(seen).toBeGreaterThan(0);
    const second = await cli('generate', '--model', 'test/stories260K', '--hub-url', hub.url, '--cache-dir', cache, '--dtype', 'f32', ...gen);
    expect(second.json.ids).toEqual(want);
    expect(hub.requests.length).toBe(seen);
    expect(second.stderr).not.toMatch(/download:/);
  });

  test('--dtype f16 generates f32\'s greedy ids; q8 and q4 run from the cache; a bad dtype is named', async () => {
    const f16 = await cli('generate', '--model', 'test/stories260K', '--hub-url', hub.url, '--cache-dir', cache, '--dtype', 'f16', ...gen);
    expect(f16.json.ids).toEqual(want);
    for (const dtype of ['q8', 'q4']) {
      const { json } = await cli('logits', '--model', 'test/stories260K', '--hub-url', hub.url, '--cache-dir', cache, '--dtype', dtype, '--ids', '1,2', '--json');
      expect(json.logits).toHaveLength(2);
      expect(json.logits[0]).toHaveLength(512);
    }
    await expect(fails('logits', '--model', STORIES, '--dtype', 'q3', '--ids', '1')).rejects.toMatchObject({ stderr: expect.stringMatching(/--dtype must be one of auto, f32, f16, q8, q4, got "q3"/) });
  });

  test('a gated repo: 401 names the fix; --token opens it', async () => {
    await expect(fails('logits', '--model', 'test/gated', '--hub-url', hub.url, '--cache-dir', cache, '--ids', '1')).rejects.toMatchObject({
      stderr: expect.stringMatching(/test\/gated: HTTP 401 .*gated or private.*--token or the HF_TOKEN/),
    });
    const { json } = await cli('logits', '--model', 'test/gated', '--hub-url', hub.url, '--cache-dir', cache, '--token', 'hf_secret', '--ids', '1', '--json', '--quiet');
    expect(json.logits).toHaveLength(1);
  });

  test('an unknown repo and a missing path are told apart', async () => {
    // The Hub answers 401 for repos it does not know (they might be private).
    await expect(fails('logits', '--model', 'nobody/nothing', '--hub-url', hub.url, '--cache-dir', cache, '--ids', '1')).rejects.toMatchObject({ stderr: expect.stringMatching(/nobody\/nothing: HTTP 401 .*\(or does not exist\)/) });
    await expect(fails('logits', '--model', './no/such/dir', '--ids', '1')).rejects.toMatchObject({ stderr: expect.stringMatching(/no such folder or file, and not a Hub id/) });
  });

  test('a .gguf file generates what the safetensors folder generates', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'latentlab-gguf-')), 'stories260K-f32.gguf');
    writeFileSync(path, llamaFolderGguf(STORIES));
    const { json } = await cli('generate', '--model', path, '--dtype', 'f32', ...gen);
    expect(json.ids).toEqual(want);
  });

  test('a model over the GPU budget is refused with the numbers', async () => {
    await expect(fails('logits', '--model', STORIES, '--dtype', 'f32', '--gpu-budget-mb', '0.5', '--ids', '1')).rejects.toMatchObject({
      stderr: expect.stringMatching(/model too large for this device: its weights need f32 1\.0 MiB but the budget is 0\.5 MiB; try a smaller --dtype/),
    });
    // auto falls back to the most precise dtype that fits.
    const { json } = await cli('logits', '--model', STORIES, '--gpu-budget-mb', '0.5', '--ids', '1', '--json');
    expect(json.logits).toHaveLength(1);
  });

  test('models list shows the cached downloads with sizes; rm deletes one', async () => {
    const { json } = await cli('models', 'list', '--cache-dir', cache);
    const ids = json.models.map((m: any) => m.id);
    expect(ids).toEqual(['test/gated', 'test/stories260K']);
    expect(json.models[1]).toMatchObject({ revision: 'main', complete: true, bytes: 1044992 + readFileSync(join(STORIES, 'config.json')).length });
    expect((await cli('models', 'rm', 'test/stories260K', '--cache-dir', cache)).json.removed).toEqual(['test/stories260K@main']);
    expect((await cli('models', 'list', '--cache-dir', cache)).json.models.map((m: any) => m.id)).toEqual(['test/gated']);
    await expect(fails('models', 'rm', 'test/stories260K', '--cache-dir', cache)).rejects.toMatchObject({ stderr: expect.stringMatching(/not in the cache/) });
  });
});
