// App-wide state: the engine worker, the adapter it found, the catalog and the loaded model.
import { callback, createEngineClient, type AdapterInfo, type DownloadProgress, type EngineClient, type LoadedModel, type LoadModelOptions, type ModelSource } from '../../workers/client';
import { baseUrlFrom, loadCatalog, pickDefault, type CatalogEntry } from './catalog';

export type Unsupported = { reason: 'insecure' | 'no-api' | 'no-adapter'; detail: string };

export const lab = $state({
  adapter: null as AdapterInfo | null,
  unsupported: null as Unsupported | null,
  catalog: [] as CatalogEntry[],
  model: null as LoadedModel | null,
  /** What is loading right now ('' when idle). */
  loading: '',
  error: '',
});

let client: EngineClient | null = null;

export function engine(): EngineClient {
  if (!client) throw new Error('engine not started');
  return client;
}

/** Checks WebGPU, starts the worker, then loads the default model. */
export async function start(): Promise<void> {
  if (!isSecureContext) {
    lab.unsupported = { reason: 'insecure', detail: `${location.origin} is not a secure context` };
    return;
  }
  if (!('gpu' in navigator) || !navigator.gpu) {
    lab.unsupported = { reason: 'no-api', detail: 'navigator.gpu is undefined' };
    return;
  }
  client = createEngineClient();
  try {
    lab.adapter = await client.init();
  } catch (e) {
    lab.unsupported = { reason: 'no-adapter', detail: message(e) };
    return;
  }
  lab.catalog = await loadCatalog();
  // Default model first (toy-m, else toy-s, else the first listed); if it fails, the next one.
  const first = pickDefault(lab.catalog);
  const order = first ? [first, ...lab.catalog.filter((c) => c !== first)] : [];
  for (const c of order) {
    if (await loadModel({ kind: 'url', baseUrl: c.baseUrl, label: c.label })) break;
  }
}

/** Loads a model and makes it current (the previous one is freed); false when it failed (lab.error says why). */
export async function loadModel(source: ModelSource, opts: LoadModelOptions = {}, onProgress?: (p: DownloadProgress) => void): Promise<boolean> {
  const c = engine();
  lab.loading = source.label ?? (source.kind === 'url' ? source.baseUrl : source.kind === 'hub' ? source.repo : 'model');
  lab.error = '';
  try {
    const next = await c.loadModel(source, opts, onProgress ? callback(onProgress) : undefined);
    const prev = lab.model;
    lab.model = next;
    if (prev) await c.dispose(prev.id);
    return true;
  } catch (e) {
    lab.error = `could not load ${lab.loading}: ${message(e)}`;
    return false;
  } finally {
    lab.loading = '';
  }
}

export function loadFromInput(input: string): Promise<boolean> {
  const baseUrl = baseUrlFrom(input);
  return loadModel({ kind: 'url', baseUrl, label: input.trim() });
}

export function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
