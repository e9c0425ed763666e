// The model store in Node: one folder per repo@revision under the user's cache dir
// ($LATENTLAB_CACHE, else $XDG_CACHE_HOME/latentlab, else ~/.cache/latentlab), files in Hub layout,
// unfinished files as <path>.part, and manifest.json written last.
import { appendFile, mkdir, open, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { rangedFile, writeFileAtomic } from './files-node';
import { checkManifest, splitKey, storeKey, type Manifest, type ModelStore, type StoredModel } from './model-store';

export function defaultCacheDir(): string {
  if (process.env.LATENTLAB_CACHE) return process.env.LATENTLAB_CACHE;
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'latentlab');
}

// A key as one folder name: '/' cannot appear in a name, '--' marks it (as the Hub's own cache does).
const folderOf = (key: string) => key.replace(/\//g, '--');
const keyOf = (folder: string) => folderOf(folder).replace(/--/g, '/');

const missing = (e: unknown) => (e as NodeJS.ErrnoException).code === 'ENOENT';

export class FolderStore implements ModelStore {
  readonly root: string;
  constructor(root = defaultCacheDir()) {
    this.root = join(root, 'hub');
  }

  get label(): string {
    return this.root;
  }

  private file(key: string, path: string): string {
    if (path.split('/').some((p) => p === '..' || p === '')) throw new Error(`refusing file path "${path}"`);
    return join(this.root, folderOf(key), path);
  }

  async manifest(key: string): Promise<Manifest | null> {
    const file = join(this.root, folderOf(key), 'manifest.json');
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      if (missing(e)) return null;
      throw e;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw new Error(`${file} is not valid JSON (${(e as Error).message}); delete the entry with \`latentlab models rm ${splitKey(key).repo}\``);
    }
    return checkManifest(raw, file);
  }

  async saveManifest(key: string, m: Manifest): Promise<void> {
    const dir = join(this.root, folderOf(key));
    await mkdir(dir, { recursive: true });
    await writeFileAtomic(join(dir, 'manifest.json'), JSON.stringify(m, null, 1));
  }

  async stamp(key: string, path: string): Promise<string | null> {
    const s = await stat(this.file(key, path)).catch(() => null);
    return s ? `${s.size}:${s.mtimeMs}` : null;
  }

  async lock(key: string, waiting?: (holder: string) => void, signal?: AbortSignal): Promise<() => Promise<void>> {
    await mkdir(this.root, { recursive: true });
    const file = join(this.root, folderOf(key) + '.lock');
    let told = false;
    for (;;) {
      try {
        await writeFile(file, String(process.pid), { flag: 'wx' });
        return () => rm(file, { force: true });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const pid = Number(await readFile(file, 'utf8').catch(() => ''));
      // A lock whose process is gone (killed mid-download) is taken over; an empty one is being written.
      if (Number.isInteger(pid) && pid > 0 && !alive(pid)) {
        await rm(file, { force: true });
        continue;
      }
      if (signal?.aborted) throw new Error(`waiting for the cache lock of ${key} cancelled`);
      if (!told) {
        told = true;
        waiting?.(pid > 0 ? `process ${pid}` : 'another process');
      }
      await new Promise((ok) => setTimeout(ok, 200));
    }
  }

  async read(key: string, path: string): Promise<Uint8Array | null> {
    try {
      return new Uint8Array(await readFile(this.file(key, path)));
    } catch (e) {
      if (missing(e)) return null;
      throw e;
    }
  }

  async head(key: string, path: string, n: number): Promise<Uint8Array | null> {
    const f = await open(this.file(key, path)).catch((e) => (missing(e) ? null : Promise.reject(e)));
    if (!f) return null;
    try {
      const buf = new Uint8Array(n);
      const { bytesRead } = await f.read(buf, 0, n, 0);
      return buf.subarray(0, bytesRead);
    } finally {
      await f.close();
    }
  }

  async readRange(key: string, path: string, start: number, end: number): Promise<Uint8Array> {
    const f = await rangedFile(this.file(key, path));
    if (!f) throw new Error(`cache: ${path} of ${key} is gone from ${this.root}`);
    return f.read(start, end);
  }

  async size(key: string, path: string): Promise<number | null> {
    return (await stat(this.file(key, path)).catch(() => null))?.size ?? null;
  }

  async partialSize(key: string, path: string): Promise<number> {
    return (await stat(this.file(key, path) + '.part').catch(() => null))?.size ?? 0;
  }

  async append(key: string, path: string, at: number, bytes: Uint8Array): Promise<void> {
    const f = this.file(key, path) + '.part';
    await mkdir(dirname(f), { recursive: true });
    const have = await this.partialSize(key, path);
    if (have !== at) throw new Error(`cache: ${path} holds ${have} bytes, append expected ${at}`);
    await appendFile(f, bytes);
  }

  async finish(key: string, path: string): Promise<void> {
    const f = this.file(key, path);
    await rename(f + '.part', f);
  }

  async drop(key: string, path: string): Promise<void> {
    const f = this.file(key, path);
    await rm(f, { force: true });
    await rm(f + '.part', { force: true });
  }

  async list(): Promise<StoredModel[]> {
    const out: StoredModel[] = [];
    const names = (await readdir(this.root).catch(() => [] as string[])).filter((n) => !n.endsWith('.lock'));
    for (const name of names.sort()) {
      const guess = keyOf(name);
      // A damaged manifest lists the entry as incomplete rather than failing the whole listing.
      const m = await this.manifest(guess).catch(() => null);
      // The manifest knows the real repo name ('--' may be part of one); a partial download has none yet.
      const key = m ? storeKey(m.repo, m.revision) : guess;
      out.push({ key, ...splitKey(key), bytes: await folderBytes(join(this.root, name)), complete: m !== null });
    }
    return out;
  }

  async remove(key: string): Promise<boolean> {
    const dir = join(this.root, folderOf(key));
    const there = (await stat(dir).catch(() => null)) !== null;
    await rm(dir, { recursive: true, force: true });
    return there;
  }

  async clear(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }
}

async function folderBytes(dir: string): Promise<number> {
  let n = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) n += await folderBytes(p);
    else if (e.name !== 'manifest.json') n += (await stat(p)).size;
  }
  return n;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
