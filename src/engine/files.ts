// Where a model's files come from. Loaders ask for files by their Hub-layout path ("config.json",
// "model.safetensors", ...) and get bytes, or null when the file does not exist.

export interface ModelFiles {
  /** Shown in messages: a URL, a folder path or a Hub id. */
  label: string;
  read(path: string): Promise<Uint8Array | null>;
  /** Byte ranges of a file without reading all of it (folders, caches): weights then load one tensor at a time. */
  open?(path: string): Promise<RandomAccessFile | null>;
}

export interface RandomAccessFile {
  size: number;
  /** Bytes [start, end). */
  read(start: number, end: number): Promise<Uint8Array>;
}

/** Files served over HTTP in Hub layout (public/models/<name>/, a local server, a Hub resolve URL). */
export function urlFiles(baseUrl: string, init: RequestInit = {}): ModelFiles {
  const base = baseUrl.endsWith('/') ? baseUrl : baseUrl + '/';
  return {
    label: baseUrl,
    async read(path) {
      const res = await fetch(base + path, init);
      if (res.status === 404) return null;
      if (!res.ok) throw new Error(`${base + path}: HTTP ${res.status} ${res.statusText}`);
      return new Uint8Array(await res.arrayBuffer());
    },
  };
}

/** A Blob or File (a dropped .gguf, a picked shard) read by ranges, never whole. */
export function blobFile(blob: Blob): RandomAccessFile {
  return { size: blob.size, read: async (start, end) => new Uint8Array(await blob.slice(start, end).arrayBuffer()) };
}

/** Files held in memory (a dropped folder, tests). */
export function memoryFiles(label: string, files: Record<string, Uint8Array | string>): ModelFiles {
  return {
    label,
    async read(path) {
      const f = files[path];
      if (f === undefined) return null;
      return typeof f === 'string' ? new TextEncoder().encode(f) : f;
    },
  };
}
