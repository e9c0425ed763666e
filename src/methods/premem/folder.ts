// A folder of result files, listed and read by path: the same analysis reads a directory in Node (the CLI lists it and
// opens each file as a Blob) and a folder the user picked in the browser (a webkitdirectory FileList), and the request
// crossing into the engine worker stays plain data (Blobs are structured-cloned by reference, not copied).

export interface DataFolder {
  /** Shown in messages: the folder's path or name. */
  label: string;
  /** Every file's path inside the folder, '/'-separated. */
  paths: string[];
  read(path: string): Promise<Uint8Array | null>;
}

export function blobFolder(label: string, files: Record<string, Blob>): DataFolder {
  return {
    label,
    paths: Object.keys(files),
    async read(path) {
      const f = files[path];
      return f ? new Uint8Array(await f.arrayBuffer()) : null;
    },
  };
}
