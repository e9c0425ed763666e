// The one module the market-entry page uses to reach its worker (comlink), as client.ts is for the engine. The closed
// form and the Monte Carlo run in two instances of market-entry.worker.ts, so a slider moved during a Monte Carlo run
// is analysed at once; the Monte Carlo's instance opens its own WebGPU device. If a worker cannot start, its calls run
// the same API in-process (on the page's thread) and `onWorkerError` hears why.
import { wrap, type Remote } from 'comlink';
import type { MarketEntryApi, MarketParams, MarketResult, McPanelRequest, McPanelResult } from './market-entry-api';

export type * from './market-entry-api';
/** The page's starting settings (the CLI's defaults). */
export { DEFAULTS as MARKET_DEFAULTS } from '../methods/market-entry/defaults';

export type MarketEntryJob = 'analysis' | 'monte-carlo';

export interface MarketEntryClientOptions {
  /** Told when a worker fails; its calls (the one in flight included) then run on the page's thread. */
  onWorkerError?: (message: string, job: MarketEntryJob) => void;
}

export interface MarketEntryClient {
  /** The closed-form analysis of one setting. */
  analyse(params: MarketParams): Promise<MarketResult>;
  /** The Monte Carlo panel's runs: the grid check and points on the closed-form optimal curve. */
  monteCarlo(req: McPanelRequest): Promise<McPanelResult>;
  /** Stops the workers. */
  terminate(): void;
}

/** Starts the analysis worker now and the Monte Carlo worker on its first run. One client per page. */
export function createMarketEntryClient(opts: MarketEntryClientOptions = {}): MarketEntryClient {
  const analysis = connect('analysis', opts.onWorkerError);
  let mc: Connection | null = null;
  return {
    analyse: (params) => analysis.call((api) => api.analyse(params)),
    monteCarlo: (req) => (mc ??= connect('monte-carlo', opts.onWorkerError)).call((api) => api.monteCarlo(req)),
    terminate() {
      analysis.terminate();
      mc?.terminate();
    },
  };
}

interface Connection {
  call<R>(f: (api: MarketEntryApi) => Promise<R>): Promise<R>;
  terminate(): void;
}

function connect(job: MarketEntryJob, onError?: MarketEntryClientOptions['onWorkerError']): Connection {
  let worker: Worker | null = null;
  let remote: Remote<MarketEntryApi> | null = null;
  let fail: () => void = () => {};
  const failed = new Promise<null>((resolve) => (fail = () => resolve(null)));
  try {
    worker = new Worker(new URL('./market-entry.worker.ts', import.meta.url), { type: 'module', name: `latentlab-market-entry-${job}` });
    remote = wrap<MarketEntryApi>(worker);
    worker.addEventListener('error', (ev) => {
      worker?.terminate();
      worker = null;
      remote = null;
      onError?.(ev.message || 'it did not start', job);
      fail();
    });
  } catch {
    worker = null;
    remote = null;
  }
  return {
    async call(f) {
      const r = remote;
      if (r) {
        // Every method returns a promise, so the remote has the API's own signatures.
        const out = await Promise.race([f(r as unknown as MarketEntryApi).then((value) => ({ value })), failed]);
        if (out) return out.value;
      }
      return f(await inProcessApi());
    },
    terminate() {
      worker?.terminate();
      worker = null;
      remote = null;
    },
  };
}

let inProcess: Promise<MarketEntryApi> | null = null;

/** The fallback when a worker cannot run: the same API on this thread, loaded only when needed. */
function inProcessApi(): Promise<MarketEntryApi> {
  return (inProcess ??= Promise.all([import('./market-entry-api'), import('../gpu/device')]).then(([m, d]) =>
    m.createMarketEntryApi(() => (typeof navigator !== 'undefined' && navigator.gpu ? d.requestGpu(navigator.gpu) : Promise.resolve(null))),
  ));
}
