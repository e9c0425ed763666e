// The page the Hub e2e test drives: the engine's Hub loader with the IndexedDB store, and the model on the
// page's own WebGPU device. Each call returns plain data (or throws with the loader's message).
import { requestGpu, type Gpu } from '../../../src/gpu/device';
import { hubModelFiles, type Progress } from '../../../src/engine/download';
import { IdbStore, requestPersistence, storageEstimate } from '../../../src/engine/store-idb';
import { Model } from '../../../src/engine/model';
import type { WeightDtype } from '../../../src/engine/quant';

let gpu: Promise<Gpu> | null = null;
const store = new IdbStore();

const api = {
  async load(baseUrl: string, repo: string, opts: { dtype?: WeightDtype; token?: string; ids?: number[]; forward?: number[] } = {}) {
    const events: Progress[] = [];
    const files = await hubModelFiles(repo, { baseUrl, store, token: opts.token, onProgress: (p) => events.push({ ...p }) });
    gpu ??= requestGpu(navigator.gpu);
    const model = await Model.load(await gpu, files, { dtype: opts.dtype ?? 'f32' });
    try {
      const ids = await model.generate(opts.ids ?? [1], { maxNewTokens: 30, stop: [] });
      const logits = opts.forward ? Array.from((await model.forward(opts.forward)).logits!) : null;
      return { ids, logits, events: events.length, last: events[events.length - 1] ?? null };
    } finally {
      model.dispose();
    }
  },
  list: () => store.list(),
  remove: (key: string) => store.remove(key),
  clear: () => store.clear(),
  partial: (key: string, path: string) => store.partialSize(key, path),
  persist: () => requestPersistence(),
  estimate: () => storageEstimate(),
};

(window as unknown as { hub: typeof api }).hub = api;
document.getElementById('ready')!.textContent = 'ready';
