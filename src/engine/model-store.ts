// Where downloaded model files are kept: a folder in Node (store-node.ts), IndexedDB in the browser
// (store-idb.ts). A model is keyed by repo + revision; each file is written as a partial entry that grows
// as bytes arrive (so an interrupted download resumes) and becomes readable only once complete.

export interface Manifest {
  repo: string;
  revision: string;
  /** Every file of the model, with its size in bytes. */
  files: Record<string, number>;
  /** Optional files the Hub does not have (not asked for again). */
  missing: string[];
  savedAt: string;
  /** The Hub's content hash of each file that has one ("sha256:<hex>" for LFS files, "git-sha1:<hex>" for the rest), verified at download. */
  hashes?: Record<string, string>;
  /** Each file's store stamp (size and modification time) when it was verified: a changed stamp means hash it again. */
  stamps?: Record<string, string>;
}

/** A manifest read back from a store, checked field by field: a wrong shape is named, never half-used. */
export function checkManifest(raw: unknown, source: string): Manifest {
  const m = raw as Record<string, unknown> | null;
  const bad = (field: string, want: string) => new Error(`${source}: "${field}" is ${JSON.stringify(m?.[field])?.slice(0, 80) ?? 'missing'}; it must be ${want} (delete the entry with \`latentlab models rm\`, or Models → Delete in the app)`);
  if (!m || typeof m !== 'object' || Array.isArray(m)) throw new Error(`${source} is not a JSON object (delete the entry with \`latentlab models rm\`)`);
  if (typeof m.repo !== 'string') throw bad('repo', 'a string');
  if (typeof m.revision !== 'string') throw bad('revision', 'a string');
  const map = (field: string, ok: (v: unknown) => boolean, want: string, optional = false) => {
    const v = m[field];
    if (optional && v === undefined) return;
    if (!v || typeof v !== 'object' || Array.isArray(v) || !Object.values(v).every(ok)) throw bad(field, want);
  };
  map('files', (v) => Number.isSafeInteger(v) && (v as number) >= 0, 'an object from file names to sizes in bytes');
  map('hashes', (v) => typeof v === 'string' && /^(sha256:[0-9a-f]{64}|git-sha1:[0-9a-f]{40})$/.test(v), 'an object from file names to "sha256:…" or "git-sha1:…" hashes', true);
  map('stamps', (v) => typeof v === 'string', 'an object from file names to stamps', true);
  if (!Array.isArray(m.missing) || !m.missing.every((x) => typeof x === 'string')) throw bad('missing', 'a list of file names');
  for (const path of Object.keys(m.files as object)) {
    if (path.split('/').some((p) => p === '..' || p === '') || path.startsWith('/')) throw bad('files', 'file paths inside the model folder');
  }
  return m as unknown as Manifest;
}

export interface StoredModel {
  key: string;
  repo: string;
  revision: string;
  bytes: number;
  /** false while a download is unfinished (partial files only). */
  complete: boolean;
}

export interface ModelStore {
  readonly label: string;
  manifest(key: string): Promise<Manifest | null>;
  saveManifest(key: string, m: Manifest): Promise<void>;
  /** A complete file, or null. */
  read(key: string, path: string): Promise<Uint8Array | null>;
  /** The first n bytes (fewer if the file is shorter) of a complete file, or null. */
  head(key: string, path: string, n: number): Promise<Uint8Array | null>;
  /** Bytes [start, end) of a complete file (weights load one tensor at a time). */
  readRange(key: string, path: string, start: number, end: number): Promise<Uint8Array>;
  /** Size of a complete file, or null. */
  size(key: string, path: string): Promise<number | null>;
  /** Bytes of the unfinished file kept so far (0 when none). */
  partialSize(key: string, path: string): Promise<number>;
  /** Append to the unfinished file; `at` must equal its current size. */
  append(key: string, path: string, at: number, bytes: Uint8Array): Promise<void>;
  /** The unfinished file becomes the complete one. */
  finish(key: string, path: string): Promise<void>;
  /** Forget one file, complete or partial. */
  drop(key: string, path: string): Promise<void>;
  list(): Promise<StoredModel[]>;
  /** Size and modification time of a complete file, where the store can tell (a folder); null otherwise. */
  stamp?(key: string, path: string): Promise<string | null>;
  /**
   * Hold the model's entry against other processes until the returned release() (a folder store: a lock file).
   * `waiting` is told once when another holder makes it wait. The browser store needs none (its transactions).
   */
  lock?(key: string, waiting?: (holder: string) => void, signal?: AbortSignal): Promise<() => Promise<void>>;
  remove(key: string): Promise<boolean>;
  clear(): Promise<void>;
}

export const storeKey = (repo: string, revision: string) => `${repo}@${revision}`;

export function splitKey(key: string): { repo: string; revision: string } {
  const at = key.lastIndexOf('@');
  return at < 0 ? { repo: key, revision: 'main' } : { repo: key.slice(0, at), revision: key.slice(at + 1) };
}
