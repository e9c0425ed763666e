// The model store in the browser: IndexedDB (database "latentlab-models"). A file is a record
// {size, complete, chunks} plus its bytes as chunk records appended as they arrive, so a download that is
// interrupted resumes from its last chunk, and a model is readable only once its manifest is saved.
// The browser may evict it under storage pressure unless navigator.storage.persist() is granted.

import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { Manifest, ModelStore, StoredModel } from './model-store';
import { checkManifest, splitKey } from './model-store';

interface FileRecord {
  model: string;
  path: string;
  size: number;
  complete: boolean;
  chunks: number;
  /** Where each chunk ends, to read a byte range without the chunks before it. */
  ends: number[];
}

interface Schema extends DBSchema {
  manifests: { key: string; value: Manifest };
  files: { key: [string, string]; value: FileRecord; indexes: { byModel: string } };
  chunks: { key: [string, string, number]; value: Uint8Array };
}

const DB_NAME = 'latentlab-models';

/** Ask the browser not to evict the cache; resolves to whether it agreed. */
export async function requestPersistence(): Promise<boolean> {
  try {
    return (await navigator.storage?.persist?.()) ?? false;
  } catch {
    return false;
  }
}

/** Bytes used and available to this origin, as the browser reports them. */
export async function storageEstimate(): Promise<{ usage: number; quota: number } | null> {
  const e = await navigator.storage?.estimate?.();
  return e ? { usage: e.usage ?? 0, quota: e.quota ?? 0 } : null;
}

const chunkRange = (model: string, path: string) => IDBKeyRange.bound([model, path, 0], [model, path, Infinity]);

export class IdbStore implements ModelStore {
  readonly label = `IndexedDB "${DB_NAME}"`;
  private db: Promise<IDBPDatabase<Schema>>;

  constructor(name = DB_NAME) {
    this.db = openDB<Schema>(name, 1, {
      upgrade(db) {
        db.createObjectStore('manifests');
        db.createObjectStore('files', { keyPath: ['model', 'path'] }).createIndex('byModel', 'model');
        db.createObjectStore('chunks');
      },
    });
  }

  async manifest(key: string): Promise<Manifest | null> {
    const m = await (await this.db).get('manifests', key);
    return m === undefined ? null : checkManifest(m, `${this.label}: manifest of ${key}`);
  }

  async saveManifest(key: string, m: Manifest): Promise<void> {
    await (await this.db).put('manifests', m, key);
  }

  async read(key: string, path: string): Promise<Uint8Array | null> {
    const db = await this.db;
    const tx = db.transaction(['files', 'chunks']);
    const rec = await tx.objectStore('files').get([key, path]);
    if (!rec?.complete) return null;
    const parts = await tx.objectStore('chunks').getAll(chunkRange(key, path));
    const out = new Uint8Array(rec.size);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return at === rec.size ? out : null;
  }

  async head(key: string, path: string, n: number): Promise<Uint8Array | null> {
    const db = await this.db;
    const tx = db.transaction(['files', 'chunks']);
    const rec = await tx.objectStore('files').get([key, path]);
    if (!rec?.complete) return null;
    const out = new Uint8Array(Math.min(n, rec.size));
    let at = 0;
    let cursor = await tx.objectStore('chunks').openCursor(chunkRange(key, path));
    while (cursor && at < out.length) {
      const c = cursor.value.subarray(0, out.length - at);
      out.set(c, at);
      at += c.length;
      cursor = await cursor.continue();
    }
    return out;
  }

  async readRange(key: string, path: string, start: number, end: number): Promise<Uint8Array> {
    const db = await this.db;
    const tx = db.transaction(['files', 'chunks']);
    const rec = await tx.objectStore('files').get([key, path]);
    if (!rec?.complete || end > rec.size) throw new Error(`cache: ${path} of ${key} holds ${rec?.size ?? 0} bytes, [${start}, ${end}) wanted`);
    const out = new Uint8Array(end - start);
    // First chunk ending after start; chunk i spans [ends[i-1], ends[i]).
    let i = 0;
    while (i < rec.ends.length && rec.ends[i] <= start) i++;
    let last = i;
    while (last < rec.ends.length - 1 && rec.ends[last] < end) last++;
    const parts = await tx.objectStore('chunks').getAll(IDBKeyRange.bound([key, path, i], [key, path, last]));
    parts.forEach((c, j) => {
      const c0 = i + j === 0 ? 0 : rec.ends[i + j - 1];
      const a = Math.max(start, c0);
      const b = Math.min(end, c0 + c.length);
      if (b > a) out.set(c.subarray(a - c0, b - c0), a - start);
    });
    return out;
  }

  async size(key: string, path: string): Promise<number | null> {
    const rec = await (await this.db).get('files', [key, path]);
    return rec?.complete ? rec.size : null;
  }

  async partialSize(key: string, path: string): Promise<number> {
    const rec = await (await this.db).get('files', [key, path]);
    return rec && !rec.complete ? rec.size : 0;
  }

  async append(key: string, path: string, at: number, bytes: Uint8Array): Promise<void> {
    const db = await this.db;
    // One transaction: the chunk and the grown size land together or not at all (QuotaExceededError aborts both).
    const tx = db.transaction(['files', 'chunks'], 'readwrite');
    const files = tx.objectStore('files');
    const rec = (await files.get([key, path])) ?? { model: key, path, size: 0, complete: false, chunks: 0, ends: [] };
    if (rec.complete || rec.size !== at) {
      tx.done.catch(() => {});
      tx.abort();
      throw new Error(`cache: ${path} holds ${rec.size} bytes${rec.complete ? ' (complete)' : ''}, append expected ${at}`);
    }
    // A view is stored with its whole ArrayBuffer: store exactly the bytes.
    const own = bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
    await tx.objectStore('chunks').put(own, [key, path, rec.chunks]);
    await files.put({ ...rec, size: rec.size + bytes.length, chunks: rec.chunks + 1, ends: [...rec.ends, rec.size + bytes.length] });
    await tx.done;
  }

  async finish(key: string, path: string): Promise<void> {
    const db = await this.db;
    const tx = db.transaction('files', 'readwrite');
    // A file with no bytes (an empty download) has no record yet.
    const rec = (await tx.store.get([key, path])) ?? { model: key, path, size: 0, complete: false, chunks: 0, ends: [] };
    await tx.store.put({ ...rec, complete: true });
    await tx.done;
  }

  async drop(key: string, path: string): Promise<void> {
    const db = await this.db;
    const tx = db.transaction(['files', 'chunks'], 'readwrite');
    await tx.objectStore('chunks').delete(chunkRange(key, path));
    await tx.objectStore('files').delete([key, path]);
    await tx.done;
  }

  async list(): Promise<StoredModel[]> {
    const db = await this.db;
    const bytes = new Map<string, number>();
    for (const f of await db.getAll('files')) bytes.set(f.model, (bytes.get(f.model) ?? 0) + f.size);
    const done = new Set(await db.getAllKeys('manifests'));
    for (const k of done) if (!bytes.has(k)) bytes.set(k, 0);
    return [...bytes.keys()].sort().map((key) => ({ key, ...splitKey(key), bytes: bytes.get(key)!, complete: done.has(key) }));
  }

  async remove(key: string): Promise<boolean> {
    const db = await this.db;
    const tx = db.transaction(['manifests', 'files', 'chunks'], 'readwrite');
    const files = await tx.objectStore('files').index('byModel').getAll(key);
    const had = files.length > 0 || (await tx.objectStore('manifests').get(key)) !== undefined;
    for (const f of files) {
      await tx.objectStore('chunks').delete(chunkRange(key, f.path));
      await tx.objectStore('files').delete([key, f.path]);
    }
    await tx.objectStore('manifests').delete(key);
    await tx.done;
    return had;
  }

  async clear(): Promise<void> {
    const db = await this.db;
    const tx = db.transaction(['manifests', 'files', 'chunks'], 'readwrite');
    await Promise.all([tx.objectStore('manifests').clear(), tx.objectStore('files').clear(), tx.objectStore('chunks').clear(), tx.done]);
  }
}
