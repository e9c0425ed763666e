// Download a Hub model into a ModelStore with progress, cancellation and resume, then serve its files from
// the store. Every file is checked before it counts as cached: its size against the Hub's, its content against
// the hash the Hub gives (sha256 for LFS files, the git blob sha1 for the rest), and small files by parsing. The
// second load of the same repo@revision checks the stored files (size, safetensors header, and the hash again
// where the file changed on disk since) and makes no request at all. A folder store is locked while a process
// downloads into it, so a second process waits and then shares the result.
import { sha256 } from '@noble/hashes/sha2.js';
import { sha1 } from '@noble/hashes/legacy.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { ModelFiles } from './files';
import { checkHubResponse, hubHeaders, hubUrl, HubError, type HubOptions } from './hub';
import { storeKey, type Manifest, type ModelStore } from './model-store';
import { parseSafetensorsHeader, safetensorsHeaderSize } from './safetensors';
import { weightMap } from './weights';

export interface Progress {
  /** The file being fetched, its bytes so far and its size. */
  file: string;
  fileLoaded: number;
  fileTotal: number;
  /** All files of the model. */
  loaded: number;
  total: number;
  /** Bytes that came from the store rather than the network. */
  cached: number;
}

export interface DownloadOptions extends HubOptions {
  store: ModelStore;
  onProgress?: (p: Progress) => void;
  signal?: AbortSignal;
  /** Told once when another process holds the model's cache entry and this one waits for it. */
  onWait?: (message: string) => void;
}

/** Files a model may have besides its weights; config.json is the only one required. */
const SMALL_FILES = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'chat_template.jinja'];

/** Bytes kept in memory before they are appended to the store. */
const FLUSH_BYTES = 4 * 2 ** 20;

/** The model's files, downloaded (or resumed) into the store unless already there and intact. */
export async function hubModelFiles(repo: string, opts: DownloadOptions): Promise<ModelFiles> {
  const revision = opts.revision ?? 'main';
  const key = storeKey(repo, revision);
  const store = opts.store;
  const label = `${repo}@${revision}`;
  const release = await store.lock?.(key, (holder) => opts.onWait?.(`${label}: waiting for ${holder}, which is downloading it into ${store.label}`), opts.signal);
  let manifest: Manifest | null;
  try {
    manifest = await store.manifest(key);
    if (manifest && (await intact(store, key, manifest)).length > 0) manifest = null;
    if (!manifest) manifest = await download(repo, key, opts);
  } finally {
    await release?.();
  }
  const m = manifest;
  const stale = (path: string) => new Error(`${label}: cached ${path} changed since it was checked (${store.label}); delete it with \`latentlab models rm ${repo}\``);
  return {
    label,
    async open(path) {
      if (!(path in m.files)) return null;
      const size = m.files[path];
      if ((await store.size(key, path)) !== size) throw stale(path);
      return { size, read: (start, end) => store.readRange(key, path, start, end) };
    },
    async read(path) {
      if (!(path in m.files)) return null;
      const bytes = await store.read(key, path);
      if (!bytes || bytes.length !== m.files[path]) throw stale(path);
      return bytes;
    },
  };
}

/** Files of a stored model that are missing or damaged (each dropped, to be fetched again). */
export async function intact(store: ModelStore, key: string, m: Manifest): Promise<string[]> {
  const bad: string[] = [];
  let restamped = false;
  for (const [path, size] of Object.entries(m.files)) {
    const have = await store.size(key, path);
    let ok = have === size;
    if (ok && path.endsWith('.safetensors')) ok = (await safetensorsProblem(store, key, path, size)) === null;
    // A file changed on disk since it was verified (same size, new bytes) is hashed again.
    const hash = m.hashes?.[path];
    const stamp = ok && hash && store.stamp ? await store.stamp(key, path) : null;
    if (stamp && stamp !== m.stamps?.[path]) {
      ok = (await hashProblem(store, key, path, size, hash!)) === null;
      if (ok) (m.stamps ??= {})[path] = stamp;
      restamped ||= ok;
    }
    if (!ok) {
      bad.push(path);
      await store.drop(key, path);
    }
  }
  if (restamped && !bad.length) await store.saveManifest(key, m);
  return bad;
}

/** Why a stored file does not match the Hub's hash, or null when it does. Read back in chunks: shards are GBs. */
async function hashProblem(store: ModelStore, key: string, path: string, size: number, hash: string): Promise<string | null> {
  const [kind, want] = hash.split(':');
  const h = kind === 'sha256' ? sha256.create() : sha1.create();
  // The Hub's ETag of a file kept in git is its blob id: sha1 of "blob <size>\0" and the bytes.
  if (kind === 'git-sha1') h.update(new TextEncoder().encode(`blob ${size}\0`));
  const CHUNK = 16 * 2 ** 20;
  for (let at = 0; at < size; at += CHUNK) h.update(await store.readRange(key, path, at, Math.min(size, at + CHUNK)));
  const got = bytesToHex(h.digest());
  return got === want ? null : `does not match the Hub's ${kind} (expected ${want}, got ${got})`;
}

/** Small files are parsed before they count as cached: an HTML error page or a cut-off file must not stay. */
async function parseProblem(store: ModelStore, key: string, path: string): Promise<string | null> {
  if (!path.endsWith('.json') && !path.endsWith('.jinja')) return null;
  const bytes = await store.read(key, path);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes!);
  } catch {
    return 'is not UTF-8 text';
  }
  if (path.endsWith('.jinja')) return null;
  try {
    const v = JSON.parse(text);
    if (!v || typeof v !== 'object' || Array.isArray(v)) return 'is not a JSON object';
    return null;
  } catch (e) {
    return `is not valid JSON (${(e as Error).message}; it begins ${JSON.stringify(text.slice(0, 40))})`;
  }
}

async function safetensorsProblem(store: ModelStore, key: string, path: string, size: number): Promise<string | null> {
  try {
    // Only the header is read: a multi-GB shard is checked without loading it.
    const first8 = await store.head(key, path, 8);
    if (!first8) return 'missing';
    const headerSize = safetensorsHeaderSize(first8, size, path);
    parseSafetensorsHeader((await store.head(key, path, headerSize))!, size, path);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

async function download(repo: string, key: string, opts: DownloadOptions): Promise<Manifest> {
  const { store, signal } = opts;
  const doFetch = opts.fetch ?? fetch;
  const revision = opts.revision ?? 'main';
  const files: Record<string, number> = {};
  const hashes: Record<string, string> = {};
  const missing: string[] = [];

  // Sizes first (HEAD), so progress can say bytes of total; config.json also tells whether the repo exists.
  // The Hub names an LFS file's sha256 in X-Linked-Etag and a git file's blob sha1 in its ETag.
  const head = async (path: string): Promise<number | null> => {
    let res: Response;
    try {
      res = await doFetch(hubUrl(repo, path, opts), { method: 'HEAD', headers: hubHeaders(opts), signal });
    } catch (e) {
      if (signal?.aborted) throw new Error(`download of ${repo} cancelled`);
      throw new HubError(`${repo}: could not reach the Hub at ${hubUrl(repo, path, opts)} (${(e as Error).message}); check the network or the Hub URL (--hub-url, HF_ENDPOINT). A local model folder of that name does not exist either`, 0);
    }
    checkHubResponse(res, repo, path, opts);
    if (res.status === 404) return null;
    // The Hub gives an LFS file's size in X-Linked-Size; a compressed response's length is not the file's.
    const linked = res.headers.get('x-linked-size');
    const len = res.headers.get('content-encoding') ? null : res.headers.get('content-length');
    const tag = (name: string) => res.headers.get(name)?.replace(/^W\//, '').replace(/"/g, '').toLowerCase() ?? '';
    const lfs = tag('x-linked-etag');
    if (/^[0-9a-f]{64}$/.test(lfs)) hashes[path] = `sha256:${lfs}`;
    // A redirected answer comes from a CDN whose ETag means something else.
    else if (!linked && !res.redirected && /^[0-9a-f]{40}$/.test(tag('etag'))) hashes[path] = `git-sha1:${tag('etag')}`;
    return Number(linked ?? len ?? -1);
  };
  const configSize = await head('config.json');
  if (configSize === null) throw new HubError(`${repo}: not found on the Hub at ${hubUrl(repo, 'config.json', opts)} (check the model id and --revision; revision "${revision}")`, 404);
  files['config.json'] = configSize;
  for (const p of SMALL_FILES.slice(1)) {
    const s = await head(p);
    if (s === null) missing.push(p);
    else files[p] = s;
  }
  const single = await head('model.safetensors');
  if (single !== null) files['model.safetensors'] = single;
  else {
    const idx = await head('model.safetensors.index.json');
    if (idx === null) throw new HubError(`${repo}: has neither model.safetensors nor model.safetensors.index.json (GGUF-only and PyTorch .bin repos are not loaded from the Hub; download the .gguf file and pass its path)`, 404);
    files['model.safetensors.index.json'] = idx;
    missing.push('model.safetensors');
  }

  let total = Object.values(files).reduce((a, b) => a + Math.max(0, b), 0);
  let loaded = 0;
  let cached = 0;
  const fetchOne = async (path: string): Promise<void> => {
    const size = await fetchFile(repo, key, path, files[path], hashes[path], opts, doFetch, (fileLoaded, fromStore) => {
      cached += fromStore;
      opts.onProgress?.({ file: path, fileLoaded, fileTotal: files[path], loaded: loaded + fileLoaded, total, cached });
    });
    if (files[path] < 0) total += size;
    files[path] = size;
    loaded += size;
  };
  try {
    for (const path of Object.keys(files)) await fetchOne(path);
    if ('model.safetensors.index.json' in files) await fetchShards();
  } catch (e) {
    if (!isQuotaError(e)) throw e;
    // No partial entry may stay behind a full disk or quota.
    await store.remove(key).catch(() => {});
    throw new Error(
      `${repo}: storage quota exceeded while caching it in ${store.label} (${total} bytes needed): nothing of it was kept; ` +
        'delete cached models (`latentlab models rm ID`, or Models → Delete in the app) or free disk space and try again',
    );
  }

  // Shards are known once the index is in.
  async function fetchShards() {
    const index = await store.read(key, 'model.safetensors.index.json');
    let map: Record<string, string>;
    try {
      map = weightMap(index!, `${repo}/model.safetensors.index.json`);
    } catch (e) {
      // A bad index must not stay cached to fail every later run.
      await store.drop(key, 'model.safetensors.index.json');
      throw e;
    }
    const shards = [...new Set(Object.values(map))];
    for (const s of shards) {
      const size = await head(s);
      if (size === null) throw new HubError(`${repo}: shard ${s} named in model.safetensors.index.json is missing on the Hub`, 404);
      files[s] = size;
      total += Math.max(0, size);
    }
    for (const s of shards) await fetchOne(s);
  }
  const stamps: Record<string, string> = {};
  for (const path of Object.keys(hashes)) {
    const stamp = await store.stamp?.(key, path);
    if (stamp) stamps[path] = stamp;
  }
  const manifest: Manifest = { repo, revision, files, missing, savedAt: new Date().toISOString(), hashes, stamps };
  const bad = await intact(store, key, manifest);
  if (bad.length) throw new Error(`${repo}: downloaded ${bad.join(', ')} failed the integrity check (size or safetensors header); run again to fetch it anew`);
  await store.saveManifest(key, manifest);
  return manifest;
}

/**
 * One file into the store, resuming from its partial bytes with an HTTP Range request. Returns its size.
 * `progress(bytesSoFar, bytesTakenFromStore)` is called as data arrives.
 */
async function fetchFile(
  repo: string,
  key: string,
  path: string,
  expected: number,
  hash: string | undefined,
  opts: DownloadOptions,
  doFetch: typeof fetch,
  progress: (loaded: number, fromStore: number) => void,
): Promise<number> {
  const inconsistent = async (what: string) => {
    await opts.store.drop(key, path);
    return new HubError(`${repo}: ${path}: the server announced ${expected} bytes (HEAD) but ${what}; it serves inconsistent data (a proxy or mirror?), so nothing of the file was kept`, 0);
  };
  const { store, signal } = opts;
  const done = await store.size(key, path);
  if (done !== null && (expected < 0 || done === expected)) {
    // Finished by an earlier, interrupted run: checked again, since its manifest was never written.
    await checkContent(repo, key, path, done, hash, opts);
    progress(done, done);
    return done;
  }
  let have = await store.partialSize(key, path);
  if (expected >= 0 && have > expected) {
    await store.drop(key, path);
    have = 0;
  }
  const headers = hubHeaders(opts, have > 0 ? { range: `bytes=${have}-` } : {});
  let res: Response;
  try {
    res = await doFetch(hubUrl(repo, path, opts), { headers, signal });
  } catch (e) {
    throw networkError(repo, path, have, expected, e, signal);
  }
  checkHubResponse(res, repo, path, opts);
  if (res.status === 404) throw new HubError(`${repo}: ${path} disappeared from the Hub while downloading`, 404);
  if (res.status === 416) {
    if (have !== expected) throw await inconsistent(`refuses a range from byte ${have} (HTTP 416)`);
    await store.finish(key, path);
    await checkContent(repo, key, path, have, hash, opts);
    progress(have, have);
    return have;
  }
  const range = res.headers.get('content-range');
  if (res.status !== 206 || !range?.startsWith(`bytes ${have}-`)) {
    // The server sent the whole file: start over.
    if (have > 0) await store.drop(key, path);
    have = 0;
  }
  // The size this response promises (a range's total, or the whole body's length) must be the announced one.
  const total = have > 0 ? Number(/\/(\d+)$/.exec(range ?? '')?.[1] ?? NaN) : res.headers.get('content-encoding') ? NaN : Number(res.headers.get('content-length') ?? NaN);
  if (expected >= 0 && Number.isFinite(total) && total !== expected) throw await inconsistent(`its download is ${total} bytes`);
  progress(have, have);
  const reader = res.body!.getReader();
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    if (!pendingBytes) return;
    const chunk = new Uint8Array(pendingBytes);
    let at = 0;
    for (const p of pending) {
      chunk.set(p, at);
      at += p.length;
    }
    pending = [];
    pendingBytes = 0;
    await store.append(key, path, have - chunk.length, chunk);
  };
  try {
    for (;;) {
      const { done: end, value } = await reader.read();
      if (end) break;
      pending.push(value);
      pendingBytes += value.length;
      have += value.length;
      if (expected >= 0 && have > expected) {
        await reader.cancel().catch(() => {});
        throw await inconsistent(`sends more than that`);
      }
      if (pendingBytes >= FLUSH_BYTES) await flush();
      progress(have, 0);
    }
  } catch (e) {
    if (e instanceof HubError) throw e;
    await flush().catch(() => {});
    throw networkError(repo, path, have, expected, e, signal);
  }
  await flush();
  if (expected >= 0 && have !== expected) {
    throw new Error(`${repo}: ${path} ended after ${have} of ${expected} bytes (the connection dropped); run again to resume from byte ${have}`);
  }
  await store.finish(key, path);
  await checkContent(repo, key, path, have, hash, opts);
  return have;
}

/** A finished file is parsed (small files) and hashed (when the Hub gave a hash); a bad one is dropped with the reason. */
async function checkContent(repo: string, key: string, path: string, size: number, hash: string | undefined, opts: DownloadOptions): Promise<void> {
  const problem = (await parseProblem(opts.store, key, path)) ?? (hash ? await hashProblem(opts.store, key, path, size, hash) : null);
  if (!problem) return;
  await opts.store.drop(key, path);
  throw new HubError(`${repo}: ${path} from ${hubUrl(repo, path, opts)} ${problem}; it was not kept in the cache (run again to fetch it anew)`, 0);
}

function networkError(repo: string, path: string, have: number, expected: number, e: unknown, signal?: AbortSignal): Error {
  if (signal?.aborted) return new Error(`download of ${repo} cancelled (${path}: ${have} bytes kept; loading it again resumes)`);
  if (e instanceof HubError || isQuotaError(e)) return e as Error;
  const of = expected >= 0 ? ` of ${expected}` : '';
  return new Error(`${repo}: the network dropped while downloading ${path} after ${have}${of} bytes (${(e as Error).message}); run again to resume`);
}

/** The browser's QuotaExceededError, or a full disk in Node. */
export function isQuotaError(e: unknown): boolean {
  const err = e as { name?: string; code?: string };
  return err?.name === 'QuotaExceededError' || err?.code === 'ENOSPC' || err?.code === 'EDQUOT';
}
