// A model folder on disk (CLI, tests). Node only.
import { open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelFiles, RandomAccessFile } from './files';

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
    open: (path) => rangedFile(join(dir, path)),
  };
}

/** A file read by ranges (readFile stops at 2 GiB; shards are often larger). Opened per read: no handle outlives a load. */
export async function rangedFile(file: string): Promise<RandomAccessFile | null> {
  const info = await stat(file).catch((e) => ((e as NodeJS.ErrnoException).code === 'ENOENT' ? null : Promise.reject(e)));
  if (!info?.isFile()) return null;
  return {
    size: info.size,
    async read(start, end) {
      const f = await open(file);
      try {
        const out = new Uint8Array(end - start);
        let at = 0;
        while (at < out.length) {
          const { bytesRead } = await f.read(out, at, out.length - at, start + at);
          if (bytesRead === 0) throw new Error(`${file}: ended at byte ${start + at}, ${end} wanted (file changed while loading?)`);
          at += bytesRead;
        }
        return out;
      } finally {
        await f.close();
      }
    },
  };
}

/** Write a file so that a reader sees the old bytes or the new ones, never a half-written file (a crash mid-write included). */
export async function writeFileAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
