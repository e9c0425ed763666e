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
  remove(key: string): Promise<boolean>;
  clear(): Promise<void>;
}

export const storeKey = (repo: string, revision: string) => `${repo}@${revision}`;

export function splitKey(key: string): { repo: string; revision: string } {
  const at = key.lastIndexOf('@');
  return at < 0 ? { repo: key, revision: 'main' } : { repo: key.slice(0, at), revision: key.slice(at + 1) };
}
