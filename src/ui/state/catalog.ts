// The embedded models (public/models/index.json) and how a typed location becomes a model base URL.

export interface CatalogEntry {
  id: string;
  label: string;
  /** Base URL of the model folder (ends with '/'). */
  baseUrl: string;
  description: string;
}

/** Preferred default models, in order; the first one the catalog lists is loaded at start. */
export const DEFAULT_MODELS = ['toy-m', 'toy-s'];

const modelsRoot = () => new URL(`${import.meta.env.BASE_URL}models/`, location.href).href;

/**
 * Reads public/models/index.json. Accepts a list of names or of objects with id/name, optional path,
 * label and description, either bare or under a "models" key. A missing index gives the defaults.
 */
export async function loadCatalog(): Promise<CatalogEntry[]> {
  let raw: unknown = null;
  try {
    const r = await fetch(`${modelsRoot()}index.json`);
    if (r.ok) raw = await r.json();
  } catch {
    raw = null;
  }
  const list = Array.isArray(raw) ? raw : Array.isArray((raw as { models?: unknown })?.models) ? (raw as { models: unknown[] }).models : null;
  if (!list) return DEFAULT_MODELS.map((id) => entry(id, id, `${id}/`, ''));
  return list.flatMap((item): CatalogEntry[] => {
    if (typeof item === 'string') return [entry(item, item, `${item}/`, '')];
    if (!item || typeof item !== 'object') return [];
    const o = item as Record<string, unknown>;
    const id = String(o.id ?? o.name ?? '');
    if (!id) return [];
    const path = typeof o.path === 'string' ? o.path : `${id}/`;
    return [entry(id, String(o.label ?? o.name ?? id), path, String(o.description ?? ''))];
  });
}

function entry(id: string, label: string, path: string, description: string): CatalogEntry {
  const baseUrl = new URL(path.endsWith('/') ? path : `${path}/`, modelsRoot()).href;
  return { id, label, baseUrl, description };
}

export function pickDefault(catalog: CatalogEntry[]): CatalogEntry | null {
  for (const id of DEFAULT_MODELS) {
    const hit = catalog.find((c) => c.id === id);
    if (hit) return hit;
  }
  return catalog[0] ?? null;
}

/** "owner/name" means a Hugging Face Hub repo; anything else is a URL (relative ones resolve against the page). */
export function baseUrlFrom(input: string): string {
  const s = input.trim();
  if (/^[\w.-]+\/[\w.-]+$/.test(s) && !s.startsWith('.')) return `https://huggingface.co/${s}/resolve/main/`;
  const url = new URL(s, location.href).href;
  return url.endsWith('/') ? url : `${url}/`;
}
