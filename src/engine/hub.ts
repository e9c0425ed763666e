// The Hugging Face Hub as a file source: `{base}/{repo}/resolve/{revision}/{path}` URLs, an optional access
// token, and the Hub's status codes turned into messages that say what to do.

export interface HubOptions {
  /** Default https://huggingface.co; tests point it at a local server. */
  baseUrl?: string;
  /** Branch, tag or commit; default main. */
  revision?: string;
  /** Access token for gated or private repos (sent as a Bearer token). */
  token?: string;
  fetch?: typeof fetch;
}

export const DEFAULT_HUB = 'https://huggingface.co';

/** `owner/name` or `owner/name@revision`: the shape of a Hub model id (a local path that exists wins over it). */
export function parseHubId(spec: string): { repo: string; revision?: string } | null {
  const m = /^([A-Za-z0-9][\w.-]*\/[\w.-]+)(?:@([\w./-]+))?$/.exec(spec);
  if (!m || spec.endsWith('.gguf')) return null;
  return { repo: m[1], revision: m[2] };
}

export function hubUrl(repo: string, path: string, opts: HubOptions = {}): string {
  const base = (opts.baseUrl ?? DEFAULT_HUB).replace(/\/+$/, '');
  const rev = encodeURIComponent(opts.revision ?? 'main');
  return `${base}/${repo}/resolve/${rev}/${path.split('/').map(encodeURIComponent).join('/')}`;
}

export function hubHeaders(opts: HubOptions, extra: Record<string, string> = {}): Record<string, string> {
  return opts.token ? { ...extra, authorization: `Bearer ${opts.token}` } : extra;
}

/** A failed Hub request: the status and a message naming the repo and the fix. */
export class HubError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'HubError';
  }
}

/** Throws a HubError for 401/403 (gated or private) and other failures; 404 is returned to the caller to decide. */
export function checkHubResponse(res: Response, repo: string, path: string, opts: HubOptions): void {
  if (res.ok || res.status === 404 || res.status === 206 || res.status === 416) return;
  // The Hub explains refusals in X-Error-Message; pass its words on.
  const said = res.headers.get('x-error-message');
  const hub = said ? ` (the Hub says: ${said})` : '';
  if (res.status === 401 || res.status === 403) {
    const how = 'accept its terms on the model page while logged in, create an access token (huggingface.co/settings/tokens) and pass it with --token or the HF_TOKEN environment variable (in the app: Settings → Hub token)';
    throw new HubError(
      opts.token
        ? `${repo}: the Hub refused the access token (HTTP ${res.status}) for ${path}${hub}: the model is gated or private and this token has no access to it; ${how}`
        : `${repo}: HTTP ${res.status} for ${path}${hub}: the model is gated or private (or does not exist) and needs an access token: ${how}`,
      res.status,
    );
  }
  throw new HubError(`${repo}: HTTP ${res.status} ${res.statusText} for ${hubUrl(repo, path, opts)}${hub}`, res.status);
}
