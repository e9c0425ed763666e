// A ModelSource opened into a model: served folders, picked files, one GGUF file (read by ranges), or a Hub
// repo downloaded into the IndexedDB cache (with progress, cancellable) and then read from it.
import type { Gpu } from '../gpu/device';
import { hubModelFiles } from '../engine/download';
import { blobFile, urlFiles, type ModelFiles } from '../engine/files';
import type { LoadOptions } from '../engine/model';
import type { ModelStore } from '../engine/model-store';
import { openFiles, openGguf, type OpenedModel } from '../engine/open-model';
import type { ModelSource } from './api';
import type { DownloadProgress, ModelOrigin } from './api-train';
import { blobFiles } from './blob-files';

export interface SourceContext {
  modelStore(): ModelStore;
  signal: AbortSignal;
  onProgress?: (p: DownloadProgress) => void;
}

export async function openSource(g: Gpu, source: ModelSource, load: LoadOptions, ctx: SourceContext): Promise<{ opened: OpenedModel; label: string; origin: ModelOrigin | null }> {
  if (source.kind === 'gguf') {
    return { opened: await openGguf(g, blobFile(source.file), source.label, load), label: source.label, origin: null };
  }
  if (source.kind === 'hub') {
    const revision = source.revision || 'main';
    const files = await hubModelFiles(source.repo, {
      store: ctx.modelStore(),
      revision,
      baseUrl: source.baseUrl || undefined,
      token: source.token || undefined,
      signal: ctx.signal,
      onProgress: ctx.onProgress ? (p) => void Promise.resolve(ctx.onProgress!({ ...p })).catch(() => undefined) : undefined,
    });
    const origin: ModelOrigin = { kind: 'hub', repo: source.repo, revision, ...(source.baseUrl ? { baseUrl: source.baseUrl } : {}) };
    return { opened: await openFiles(g, files, load), label: `${source.repo}@${revision}`, origin };
  }
  const files: ModelFiles = source.kind === 'url' ? urlFiles(source.baseUrl) : blobFiles(source.label, source.files);
  const origin: ModelOrigin | null = source.kind === 'url' ? { kind: 'url', baseUrl: source.baseUrl, ...(source.label ? { label: source.label } : {}) } : null;
  return { opened: await openFiles(g, files, load), label: source.label ?? files.label, origin };
}
