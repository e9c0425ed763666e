// `latentlab models list | rm ID[@REVISION] | clear`: the Hub downloads kept in the folder cache.
import { storeKey } from '../engine/model-store';
import type { Args } from './args';
import { cacheStore } from './model-source';

export async function modelsCommand(sub: string, rest: string[], args: Args): Promise<object> {
  const store = cacheStore(args);
  if (sub === 'list') {
    const models = await store.list();
    return { cache: store.label, models: models.map((m) => ({ id: m.repo, revision: m.revision, bytes: m.bytes, complete: m.complete })) };
  }
  if (sub === 'rm') {
    if (rest.length === 0) throw new Error('models rm needs a model id (owner/name[@revision])');
    const removed: string[] = [];
    for (const id of rest) {
      const at = id.indexOf('@');
      const repo = at < 0 ? id : id.slice(0, at);
      // Without a revision every cached revision of the repo goes.
      const keys = at < 0 ? (await store.list()).filter((m) => m.repo === repo).map((m) => m.key) : [storeKey(repo, id.slice(at + 1))];
      for (const k of keys) if (await store.remove(k)) removed.push(k);
      if (keys.length === 0 || !removed.some((k) => k.startsWith(repo + '@'))) throw new Error(`models rm: ${id} is not in the cache (${store.label}); see \`latentlab models list\``);
    }
    return { removed };
  }
  if (sub === 'clear') {
    await store.clear();
    return { cleared: store.label };
  }
  throw new Error(`unknown models command "${sub}"; use models list, models rm ID, models clear`);
}
