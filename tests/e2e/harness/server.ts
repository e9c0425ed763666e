// A tiny static file server for the built app: 127.0.0.1, a free port, real 404s, and extra folders
// mounted under URL prefixes (test models) that take precedence over dist/.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jinja': 'text/plain; charset=utf-8',
};

export interface StaticServer {
  url: string;
  /** Every path requested so far (tests check what the app fetched). */
  requests: string[];
  close(): Promise<void>;
}

/** `mounts` maps a URL prefix ('/models/tiny/') or an exact path ('/models/index.json') to a folder or file. */
export async function serveStatic(root: string, mounts: Record<string, string> = {}): Promise<StaticServer> {
  const requests: string[] = [];
  const prefixes = Object.entries(mounts).sort((a, b) => b[0].length - a[0].length);
  const server: Server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(path);
    const file = resolve(root, prefixes, path);
    const info = file ? await stat(file).catch(() => null) : null;
    if (!file || !info?.isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${path}`);
      return;
    }
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': info.size,
      'cache-control': 'no-store',
    });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: () => new Promise((ok) => server.close(() => ok())),
  };
}

function resolve(root: string, prefixes: [string, string][], path: string): string | null {
  for (const [prefix, target] of prefixes) {
    if (path === prefix) return target;
    if (prefix.endsWith('/') && path.startsWith(prefix)) return inside(target, path.slice(prefix.length));
  }
  return inside(root, path === '/' ? 'index.html' : path.slice(1));
}

/** Join without letting "../" climb out of the folder. */
function inside(folder: string, rel: string): string | null {
  const dir = normalize(folder);
  const full = normalize(join(dir, rel));
  return full === dir || full.startsWith(dir.endsWith(sep) ? dir : dir + sep) ? full : null;
}
