// ModelFiles over files the user picked or dropped (Blobs keyed by path inside the model folder).
import type { ModelFiles } from '../engine/files';

export function blobFiles(label: string, files: Record<string, Blob>): ModelFiles {
  return {
    label,
    async read(path: string) {
      const f = files[path];
      return f ? new Uint8Array(await f.arrayBuffer()) : null;
    },
  };
}
