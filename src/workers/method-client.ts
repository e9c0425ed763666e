// A method's calls as typed functions over EngineApi.method: `methodClient<typeof import('…/method').default>(api,
// 'prop-probes').fit(modelId, request, onProgress)`. Works on the worker's comlink proxy (client.ts passes its
// callback wrapper) and on an EngineApi in the same thread (Node tests, where callbacks need no wrapping).
import type { MethodContext, MethodProgress } from '../methods/kit/context';
import type { MethodsApi } from './method-host';

type RequestOf<F> = F extends (ctx: MethodContext, req: infer R) => Promise<unknown> ? R : never;
type ResultOf<F> = F extends (...a: never[]) => Promise<infer R> ? R : never;

export type MethodClient<M extends { calls: object }> = {
  [K in keyof M['calls']]: (modelId: string | null, request: RequestOf<M['calls'][K]>, onProgress?: (p: MethodProgress) => unknown) => Promise<ResultOf<M['calls'][K]>>;
} & {
  /** Aborts this method's calls in progress on the model. */
  cancel(modelId: string | null): Promise<void>;
};

export function methodClient<M extends { calls: object }>(
  api: Pick<MethodsApi, 'method' | 'cancelMethod'>,
  id: string,
  wrap: <F extends (p: MethodProgress) => unknown>(f: F) => F = (f) => f,
): MethodClient<M> {
  return new Proxy({} as MethodClient<M>, {
    get(_, call) {
      // Not a thenable, whatever its calls are named.
      if (typeof call !== 'string' || call === 'then') return undefined;
      if (call === 'cancel') return (modelId: string | null) => api.cancelMethod(id, modelId);
      return (modelId: string | null, request: unknown, onProgress?: (p: MethodProgress) => unknown) =>
        api.method(id, call, modelId, request, onProgress && (wrap(onProgress) as (p: MethodProgress) => void));
    },
  });
}
