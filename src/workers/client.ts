// The one module pages use to reach the engine: a comlink proxy of the worker's API.
import { proxy, wrap, type Remote } from 'comlink';
import type { EngineApi } from './api';
import { methodClient, type MethodClient } from './method-client';

export type EngineClient = Remote<EngineApi>;

/** Starts the engine worker. One per tab: the worker holds the GPU device and every loaded model. */
export function createEngineClient(): EngineClient {
  const worker = new Worker(new URL('./engine.worker.ts', import.meta.url), { type: 'module', name: 'latentlab-engine' });
  return wrap<EngineApi>(worker);
}

/** Wrap a function the worker calls back (generate's onToken) so it crosses the worker boundary. */
export const callback = <F extends (...args: never[]) => unknown>(f: F): F => proxy(f);

/** A method's calls (src/methods/<id>/method.ts) on the worker, typed: `methods<typeof import(…).default>(gpu, id)`. */
export const methods = <M extends { calls: object }>(gpu: EngineClient, id: string): MethodClient<M> =>
  methodClient<M>(gpu as unknown as Parameters<typeof methodClient>[0], id, callback);

export type * from './api';
export type { MethodProgress } from '../methods/kit/context';

/** Hub ids are parsed on the page (to tell a Hub id from a URL before anything is loaded). */
export { parseHubId } from '../engine/hub';
