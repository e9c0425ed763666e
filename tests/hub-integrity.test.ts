// The Hub cache cannot be poisoned: every file is checked against the Hub's hash (sha256 for LFS files, the git
// blob sha1 for the rest) and small files by parsing before they count as cached; a server whose HEAD size
// disagrees with its body gets one clear error; a cached file changed in place is found and fetched again; two
// downloads of one repo share one download (a lock); a manifest of the wrong shape is named.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, utimesSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hubModelFiles } from '../src/engine/download';
import { FolderStore } from '../src/engine/store-node';
import { writeFileAtomic } from '../src/engine/files-node';
import { serveHub, type FakeHub, type HubRepo } from './helpers/hub-server';

const STORIES = fileURLToPath(new URL('../../shared/models/stories260K', import.meta.url));
const config = new Uint8Array(readFileSync(join(STORIES, 'config.json')));
const weights = new Uint8Array(readFileSync(join(STORIES, 'model.safetensors')));
const enc = (s: string) => new TextEncoder().encode(s);
/** The weights with one byte of the data section changed: same size, valid header, other numbers. */
const flipped = () => {
  const w = weights.slice();
  w[w.length - 1000] ^= 0x40;
  return w;
};

describe('Hub cache integrity', () => {
  let hub: FakeHub;
  const repos: Record<string, HubRepo> = {};
  const fresh = () => new FolderStore(mkdtempSync(join(tmpdir(), 'latentlab-cache-')));
  const gets = (from: number, file: string) => hub.requests.slice(from).filter((r) => r.method === 'GET' && r.path.endsWith(file)).length;
  beforeAll(async () => {
    Object.assign(repos, {
      'test/ok': { files: { 'config.json': config, 'model.safetensors': weights } },
      'test/corrupt': { files: { 'config.json': config, 'model.safetensors': weights }, served: { 'model.safetensors': flipped() } },
      'test/html-config': { files: { 'config.json': enc('<!DOCTYPE html><html><body>Rate limited</body></html>'), 'model.safetensors': weights } },
      'test/cut-config': { files: { 'config.json': config.subarray(0, 60), 'model.safetensors': weights } },
      'test/bad-git-file': { files: { 'config.json': config, 'model.safetensors': weights }, served: { 'config.json': enc(new TextDecoder().decode(config).replace('"hidden_size": 64', '"hidden_size": 96')) } },
      'test/head-size': { files: { 'config.json': config, 'model.safetensors': weights }, headSize: { 'model.safetensors': weights.length + 4096 } },
      'test/null-map': { files: { 'config.json': config, 'model.safetensors.index.json': enc('{"weight_map": null}') } },
    });
    hub = await serveHub(repos);
  });
  afterAll(() => hub.close());

  test('a weight file whose bytes do not match the Hub\'s sha256 is refused and not kept', async () => {
    const store = fresh();
    await expect(hubModelFiles('test/corrupt', { baseUrl: hub.url, store })).rejects.toThrow(/test\/corrupt: model\.safetensors from http:\/\/127\.0\.0\.1:\d+\/test\/corrupt\/resolve\/main\/model\.safetensors does not match the Hub's sha256 \(expected [0-9a-f]{64}, got [0-9a-f]{64}\); it was not kept in the cache/);
    expect(await store.size('test/corrupt@main', 'model.safetensors')).toBeNull();
    expect(await store.partialSize('test/corrupt@main', 'model.safetensors')).toBe(0);
    expect(await store.manifest('test/corrupt@main')).toBeNull();
    // Once the server sends the right bytes, the next run fetches them and loads.
    delete repos['test/corrupt'].served;
    const files = await hubModelFiles('test/corrupt', { baseUrl: hub.url, store });
    expect(Buffer.from((await files.read('model.safetensors'))!).equals(weights)).toBe(true);
  });

  test('a git-stored file (config.json) is checked against its blob sha1', async () => {
    await expect(hubModelFiles('test/bad-git-file', { baseUrl: hub.url, store: fresh() })).rejects.toThrow(/config\.json from .* does not match the Hub's git-sha1/);
  });

  test.each([
    ['served as HTML', 'test/html-config', /test\/html-config: config\.json from .* is not valid JSON \(.*it begins "<!DOCTYPE html><html><body>Rate limited<"\); it was not kept in the cache \(run again to fetch it anew\)/],
    ['cut short', 'test/cut-config', /test\/cut-config: config\.json from .* is not valid JSON/],
  ])('a config %s never enters the cache, so the next run asks again', async (_, repo, msg) => {
    const store = fresh();
    await expect(hubModelFiles(repo, { baseUrl: hub.url, store })).rejects.toThrow(msg);
    expect(await store.size(`${repo}@main`, 'config.json')).toBeNull();
    const mark = hub.requests.length;
    await expect(hubModelFiles(repo, { baseUrl: hub.url, store })).rejects.toThrow(msg);
    expect(gets(mark, 'config.json')).toBe(1);
  });

  test('an index with weight_map null is named and not kept', async () => {
    const store = fresh();
    await expect(hubModelFiles('test/null-map', { baseUrl: hub.url, store })).rejects.toThrow(/test\/null-map\/model\.safetensors\.index\.json: "weight_map" is null; it must be an object/);
    expect(await store.size('test/null-map@main', 'model.safetensors.index.json')).toBeNull();
  });

  test('a HEAD size that disagrees with the body: one clear error, nothing kept, the same again (no resume loop)', async () => {
    const store = fresh();
    for (let i = 0; i < 2; i++) {
      const mark = hub.requests.length;
      await expect(hubModelFiles('test/head-size', { baseUrl: hub.url, store })).rejects.toThrow(/test\/head-size: model\.safetensors: the server announced 1049088 bytes \(HEAD\) but its download is 1044992 bytes; it serves inconsistent data .*nothing of the file was kept/);
      expect(gets(mark, 'model.safetensors')).toBe(1);
      expect(await store.partialSize('test/head-size@main', 'model.safetensors')).toBe(0);
    }
  });

  test('a cached weight file changed in place is hashed again, dropped and fetched anew', async () => {
    const store = fresh();
    await hubModelFiles('test/ok', { baseUrl: hub.url, store });
    const file = join(store.root, 'test--ok@main', 'model.safetensors');
    writeFileSync(file, flipped());
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    const mark = hub.requests.length;
    const files = await hubModelFiles('test/ok', { baseUrl: hub.url, store });
    expect(gets(mark, 'model.safetensors')).toBe(1);
    expect(Buffer.from((await files.read('model.safetensors'))!).equals(weights)).toBe(true);
    // Unchanged since, the next load makes no request and does not hash it again (its stamp matches).
    const again = hub.requests.length;
    await hubModelFiles('test/ok', { baseUrl: hub.url, store });
    expect(hub.requests.length).toBe(again);
  });

  test('two downloads of one repo into one cache: the second waits for the first (a lock) and shares its files', async () => {
    const root = mkdtempSync(join(tmpdir(), 'latentlab-cache-'));
    // Started together: one download of the weights between them.
    let mark = hub.requests.length;
    const [a, b] = await Promise.all([
      hubModelFiles('test/ok', { baseUrl: hub.url, store: new FolderStore(root) }),
      hubModelFiles('test/ok', { baseUrl: hub.url, store: new FolderStore(root) }),
    ]);
    expect(gets(mark, 'model.safetensors')).toBe(1);
    expect(Buffer.from((await b.read('model.safetensors'))!).equals(Buffer.from((await a.read('model.safetensors'))!))).toBe(true);
    // While another holder has the entry, a load says it waits, and goes on once the lock is released.
    const other = mkdtempSync(join(tmpdir(), 'latentlab-cache-'));
    const release = await new FolderStore(other).lock('test/ok@main');
    const waits: string[] = [];
    let waited!: () => void;
    const told = new Promise<void>((ok) => (waited = ok));
    mark = hub.requests.length;
    const load = hubModelFiles('test/ok', { baseUrl: hub.url, store: new FolderStore(other), onWait: (m) => (waits.push(m), waited()) });
    await told;
    expect(waits).toEqual([expect.stringMatching(/^test\/ok@main: waiting for process \d+, which is downloading it into /)]);
    expect(hub.requests.length).toBe(mark);
    await release();
    expect(Buffer.from((await (await load).read('model.safetensors'))!).equals(weights)).toBe(true);
    expect(readdirSync(join(other, 'hub')).filter((n) => n.endsWith('.lock'))).toEqual([]);
  });

  test('a lock left by a process that died is taken over', async () => {
    const store = fresh();
    const { mkdirSync } = await import('node:fs');
    mkdirSync(store.root, { recursive: true });
    writeFileSync(join(store.root, 'test--ok@main.lock'), '2147483646');
    const files = await hubModelFiles('test/ok', { baseUrl: hub.url, store });
    expect(await files.read('config.json')).not.toBeNull();
  });

  test('a cached manifest of the wrong shape is rejected by name; models list still lists the entry', async () => {
    const store = fresh();
    await hubModelFiles('test/ok', { baseUrl: hub.url, store });
    const manifest = join(store.root, 'test--ok@main', 'manifest.json');
    const m = JSON.parse(readFileSync(manifest, 'utf8'));
    writeFileSync(manifest, JSON.stringify({ ...m, files: { 'config.json': '10' } }));
    await expect(hubModelFiles('test/ok', { baseUrl: hub.url, store })).rejects.toThrow(new RegExp(`${manifest}: "files" is \\{"config\\.json":"10"\\}; it must be an object from file names to sizes in bytes \\(delete the entry with \`latentlab models rm\``));
    writeFileSync(manifest, JSON.stringify({ ...m, files: { '../../etc/passwd': 10 } }));
    await expect(hubModelFiles('test/ok', { baseUrl: hub.url, store })).rejects.toThrow(/"files" .* it must be file paths inside the model folder/);
    writeFileSync(manifest, '{"repo": ');
    await expect(hubModelFiles('test/ok', { baseUrl: hub.url, store })).rejects.toThrow(/manifest\.json is not valid JSON/);
    expect((await store.list()).map((s) => [s.key, s.complete])).toEqual([['test/ok@main', false]]);
  });

  test('writeFileAtomic replaces a file whole and leaves no temporary file, also when the write fails', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'latentlab-atomic-'));
    const file = join(dir, 'checkpoint.safetensors');
    writeFileSync(file, 'old');
    await writeFileAtomic(file, enc('new bytes'));
    expect(readFileSync(file, 'utf8')).toBe('new bytes');
    await expect(writeFileAtomic(join(dir, 'no-such-dir', 'x'), 'y')).rejects.toThrow(/ENOENT/);
    expect(readdirSync(dir)).toEqual(['checkpoint.safetensors']);
    expect(existsSync(join(dir, 'no-such-dir'))).toBe(false);
  });
});
