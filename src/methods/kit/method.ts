// What a method's folder exports as `method.ts`: its calls. A call takes the context and ONE plain-data request and
// returns plain data, so the same call is a worker call (EngineApi.method), a CLI command (`latentlab <cli> <call>`)
// and a page's action (`methods(gpu, id)` in src/workers/client.ts).
import type { MethodContext } from './context';

// `any`: each method narrows its own request type.
export type MethodCall = (ctx: MethodContext, req: any) => Promise<unknown>;

export interface MethodModule {
  calls: Record<string, MethodCall>;
}

/** A method module, typed: `export default defineMethod({ calls: { ... } })`. */
export const defineMethod = <C extends Record<string, MethodCall>>(m: { calls: C }): { calls: C } => m;
