// A local stand-in for the Hugging Face Hub (127.0.0.1 only): `/{owner}/{name}/resolve/{rev}/{path}` with
// HEAD, Range requests, gated repos that want a Bearer token, a request log, and a one-shot dropped connection.
// As the Hub does, .safetensors files are LFS files (X-Linked-Size, X-Linked-Etag = sha256) and the rest carry
// their git blob sha1 as ETag. Faults on demand: a body other than the file the hashes describe, a HEAD size
// that disagrees with the body.
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HubRepo {
  files: Record<string, Uint8Array>;
  /** The token a gated repo accepts; others get 401. */
  token?: string;
  revision?: string;
  /** Bodies served instead of `files` (HEAD and the hashes still describe `files`): corrupt or HTML downloads. */
  served?: Record<string, Uint8Array>;
  /** Sizes HEAD announces instead of the true ones. */
  headSize?: Record<string, number>;
}

export interface HubRequest {
  method: string;
  path: string;
  range: string | null;
}

export interface FakeHub {
  url: string;
  requests: HubRequest[];
  /** The next GET of `path` sends `bytes` bytes and then drops the connection. */
  dropOnce(path: string, bytes: number): void;
  /** The next GET of `path` sends `bytes` bytes and then holds the connection open, sending nothing more, until the client gives up. */
  stallOnce(path: string, bytes: number): void;
  close(): Promise<void>;
}

export async function serveHub(repos: Record<string, HubRepo>): Promise<FakeHub> {
  const requests: HubRequest[] = [];
  const drops = new Map<string, number>();
  const stalls = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const range = req.headers.range ?? null;
    requests.push({ method: req.method ?? 'GET', path: decodeURIComponent(url.pathname), range });
    // The Hub allows cross-origin reads, which the browser test relies on.
    res.setHeader('access-control-allow-origin', '*');
    res.setHeader('access-control-expose-headers', 'content-length, content-range, accept-ranges, etag, x-linked-size, x-linked-etag, x-error-code, x-error-message');
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { 'access-control-allow-headers': 'authorization, range', 'access-control-allow-methods': 'GET, HEAD' }).end();
      return;
    }
    const m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    const repo = m ? repos[m[1]] : undefined;
    if (!m || !repo || decodeURIComponent(m[2]) !== (repo.revision ?? 'main')) {
      // The Hub answers 401 for repos it does not show an anonymous user; an unknown revision is a 404.
      res.writeHead(m && !repo ? 401 : 404, { 'content-type': 'text/plain' }).end('Repository not found');
      return;
    }
    if (repo.token && req.headers.authorization !== `Bearer ${repo.token}`) {
      const said = `Access to model ${m[1]} is restricted. You must have access to it and be authenticated to access it.`;
      res.writeHead(401, { 'content-type': 'text/plain', 'x-error-code': 'GatedRepo', 'x-error-message': said }).end(said);
      return;
    }
    const path = decodeURIComponent(m[3]);
    const file = repo.files[path];
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain', 'x-error-code': 'EntryNotFound' }).end('Entry not found');
      return;
    }
    const lfs = path.endsWith('.safetensors');
    const hashes: Record<string, string> = lfs
      ? { 'x-linked-size': String(file.length), 'x-linked-etag': `"${createHash('sha256').update(file).digest('hex')}"`, etag: `"${createHash('sha256').update(file).digest('hex')}"` }
      : { etag: `"${createHash('sha1').update(`blob ${file.length}\0`).update(file).digest('hex')}"` };
    if (req.method === 'HEAD') {
      const size = repo.headSize?.[path] ?? file.length;
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size, 'accept-ranges': 'bytes', ...hashes, ...(lfs ? { 'x-linked-size': String(size) } : {}) }).end();
      return;
    }
    const served = repo.served?.[path] ?? file;
    let start = 0;
    const r = range ? /^bytes=(\d+)-$/.exec(range) : null;
    if (r) start = Number(r[1]);
    if (start > served.length || (r && start === served.length)) {
      res.writeHead(416, { 'content-range': `bytes */${served.length}` }).end();
      return;
    }
    const body = served.subarray(start);
    const headers: Record<string, string | number> = { 'content-type': 'application/octet-stream', 'content-length': body.length, 'accept-ranges': 'bytes', ...hashes };
    if (r) headers['content-range'] = `bytes ${start}-${served.length - 1}/${served.length}`;
    res.writeHead(r ? 206 : 200, headers);
    const stall = stalls.get(path);
    if (stall !== undefined) {
      stalls.delete(path);
      res.write(body.subarray(0, stall));
      return;
    }
    const drop = drops.get(path);
    if (drop !== undefined) {
      drops.delete(path);
      res.write(body.subarray(0, drop), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    res.end(body);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    dropOnce: (path, bytes) => void drops.set(path, bytes),
    stallOnce: (path, bytes) => void stalls.set(path, bytes),
    close: () =>
      new Promise((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
