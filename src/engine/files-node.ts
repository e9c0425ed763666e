// A model folder on disk (CLI, tests). Node only.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelFiles } from './files';

export function folderFiles(dir: string): ModelFiles {
  return {
    label: dir,
    async read(path) {
      try {
        return new Uint8Array(await readFile(join(dir, path)));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw e;
      }
    },
  };
}
