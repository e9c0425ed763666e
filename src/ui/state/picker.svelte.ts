// Model picker state: where models come from besides the catalog — Hub ids downloaded into the IndexedDB cache
// (with per-file progress and cancel), a local folder or a .gguf file (picked or dropped) — the weight dtype, the
// Hub settings (kept in localStorage), and the cached models with their sizes.
import { parseHubId } from '../../workers/client';
import type { CachedModel, DownloadProgress, LoadModelOptions } from '../../workers/client';
import type { CatalogEntry } from './catalog';
import { engine, lab, loadFromInput, loadModel, message } from './lab.svelte';

const HUB_KEY = 'latentlab.hubUrl';
const TOKEN_KEY = 'latentlab.hubToken';
export const DEFAULT_HUB_URL = 'https://huggingface.co';

const stored = (k: string) => {
  try {
    return localStorage.getItem(k) ?? '';
  } catch {
    return '';
  }
};

export interface ShownProgress {
  repo: string;
  /** Bytes per file (loaded of total), in the order they started. */
  files: { path: string; loaded: number; total: number }[];
  loaded: number;
  total: number;
  cached: number;
  state: 'downloading' | 'done' | 'failed';
}

export const picker = $state({
  hubUrl: stored(HUB_KEY) || DEFAULT_HUB_URL,
  token: stored(TOKEN_KEY),
  dtype: 'auto' as NonNullable<LoadModelOptions['dtype']>,
  progress: null as ShownProgress | null,
  cached: [] as CachedModel[],
  settingsOpen: false,
  error: '',
});

/** Remember the Hub URL and token in this browser (the token only on this machine's localStorage). */
export function saveHubSettings(): void {
  try {
    localStorage.setItem(HUB_KEY, picker.hubUrl.trim() || DEFAULT_HUB_URL);
    if (picker.token.trim()) localStorage.setItem(TOKEN_KEY, picker.token.trim());
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    /* storage disabled: the settings last for this page */
  }
}

const opts = (): LoadModelOptions => ({ dtype: picker.dtype });

export const loadCatalogEntry = (c: CatalogEntry) => loadModel({ kind: 'url', baseUrl: c.baseUrl, label: c.label }, opts());

/** A Hub id (owner/name[@revision]) goes through the cache; anything else is a URL of a model folder. */
export function loadTyped(text: string): Promise<boolean> {
  const hub = parseHubId(text.trim());
  return hub ? loadHub(hub.repo, hub.revision) : loadFromInput(text);
}

export async function loadHub(repo: string, revision = 'main'): Promise<boolean> {
  const shown: ShownProgress = { repo: `${repo}@${revision}`, files: [], loaded: 0, total: 0, cached: 0, state: 'downloading' };
  picker.progress = shown;
  const p = picker.progress;
  const onProgress = (e: DownloadProgress) => {
    if (picker.progress !== p) return;
    const f = p.files.find((x) => x.path === e.file);
    if (f) Object.assign(f, { loaded: e.fileLoaded, total: e.fileTotal });
    else p.files.push({ path: e.file, loaded: e.fileLoaded, total: e.fileTotal });
    Object.assign(p, { loaded: e.loaded, total: e.total, cached: e.cached });
  };
  const base = picker.hubUrl.trim().replace(/\/+$/, '');
  const ok = await loadModel(
    { kind: 'hub', repo, revision, baseUrl: base && base !== DEFAULT_HUB_URL ? base : undefined, token: picker.token.trim() || undefined, label: `${repo}@${revision}` },
    opts(),
    onProgress,
  );
  if (picker.progress === p) p.state = ok ? 'done' : 'failed';
  await refreshCached();
  return ok;
}

export async function cancelDownload(): Promise<void> {
  await engine().cancelLoad();
}

export async function refreshCached(): Promise<void> {
  try {
    picker.cached = await engine().cachedModels();
    picker.error = '';
  } catch (e) {
    picker.error = message(e);
  }
}

export async function deleteCached(key: string): Promise<void> {
  await engine().deleteCachedModel(key);
  await refreshCached();
}

export async function clearCached(): Promise<void> {
  await engine().clearCachedModels();
  await refreshCached();
}

/** Files of a model folder keyed by their path inside it (the folder's own name dropped). */
export function folderFiles(files: { file: File; path: string }[]): { label: string; files: Record<string, File> } {
  const split = files.map((f) => ({ file: f.file, parts: f.path.split('/').filter(Boolean) }));
  const top = split.every((f) => f.parts.length > 1 && f.parts[0] === split[0].parts[0]) ? split[0].parts[0] : '';
  const out: Record<string, File> = {};
  for (const f of split) out[(top ? f.parts.slice(1) : f.parts).join('/')] = f.file;
  return { label: top || 'local folder', files: out };
}

/** A picked or dropped folder, or one .gguf file. */
export async function loadLocal(files: { file: File; path: string }[]): Promise<boolean> {
  picker.progress = null;
  if (!files.length) return false;
  const ggufs = files.filter((f) => f.file.name.endsWith('.gguf'));
  const { label, files: byPath } = folderFiles(files);
  if (!('config.json' in byPath)) {
    if (ggufs.length === 1) return loadModel({ kind: 'gguf', label: ggufs[0].file.name, file: ggufs[0].file }, opts());
    lab.error = `${label}: no config.json${ggufs.length > 1 ? ` and ${ggufs.length} .gguf files (pick one)` : ''}; pick a folder laid out like a Hugging Face model, or one .gguf file`;
    return false;
  }
  return loadModel({ kind: 'local', label, files: byPath }, opts());
}

export const fromFileList = (list: FileList): { file: File; path: string }[] => Array.from(list).map((file) => ({ file, path: file.webkitRelativePath || file.name }));

/** Everything dropped: files, and folders walked recursively (paths keep the folder's name). */
export async function fromDrop(dt: DataTransfer): Promise<{ file: File; path: string }[]> {
  const entries = Array.from(dt.items)
    .map((i) => i.webkitGetAsEntry?.())
    .filter((e): e is FileSystemEntry => !!e);
  if (!entries.length) return Array.from(dt.files).map((file) => ({ file, path: file.name }));
  const out: { file: File; path: string }[] = [];
  const walk = async (e: FileSystemEntry, prefix: string): Promise<void> => {
    if (e.isFile) {
      const file = await new Promise<File>((ok, bad) => (e as FileSystemFileEntry).file(ok, bad));
      out.push({ file, path: prefix + e.name });
      return;
    }
    const reader = (e as FileSystemDirectoryEntry).createReader();
    // readEntries returns the entries in batches until an empty one.
    for (;;) {
      const batch = await new Promise<FileSystemEntry[]>((ok, bad) => reader.readEntries(ok, bad));
      if (!batch.length) break;
      for (const c of batch) await walk(c, `${prefix}${e.name}/`);
    }
  };
  for (const e of entries) await walk(e, '');
  return out;
}
