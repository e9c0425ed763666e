// The one module pages use to reach the engine: a comlink proxy of the worker's API.
import { proxy, wrap, type Remote } from 'comlink';
import type { EngineApi } from './api';

export type EngineClient = Remote<EngineApi>;

/** Starts the engine worker. One per tab: the worker holds the GPU device and every loaded model. */
export function createEngineClient(): EngineClient {
  const worker = new Worker(new URL('./engine.worker.ts', import.meta.url), { type: 'module', name: 'latentlab-engine' });
  return wrap<EngineApi>(worker);
}

/** Wrap a function the worker calls back (generate's onToken) so it crosses the worker boundary. */
export const callback = <F extends (...args: never[]) => unknown>(f: F): F => proxy(f);

export type * from './api';

/** Hub ids are parsed on the page (to tell a Hub id from a URL before anything is loaded). */
export { parseHubId } from '../engine/hub';
