// The engine worker: owns the WebGPU device and every loaded model; the page talks to it through client.ts.
import { expose, releaseProxy, transfer, type Remote } from 'comlink';
import { requestGpu } from '../gpu/device';
import type { EngineApi, ForwardResult } from './api';
import { createEngineApi } from './engine-api';

const api = createEngineApi(
  () => {
    if (!('gpu' in navigator) || !navigator.gpu) {
      return Promise.reject(new Error('WebGPU is not available in this worker (navigator.gpu is missing)'));
    }
    return requestGpu(navigator.gpu);
  },
  // A training run's progress callback outlives startFinetune's call: its port closes when the run ends.
  { releaseCallback: (cb) => (cb as Remote<() => void>)[releaseProxy]?.() },
);

/** Buffers that belong to a single array can move to the page instead of being copied. */
function ownedBuffers(r: ForwardResult): ArrayBuffer[] {
  const seen = new Set<ArrayBuffer>();
  for (const a of [r.logits, ...Object.values(r.cache)]) {
    const b = a.buffer;
    if (b instanceof ArrayBuffer && a.byteOffset === 0 && a.byteLength === b.byteLength) seen.add(b);
  }
  return [...seen];
}

const exposed: EngineApi = {
  ...api,
  async forward(modelId, ids, opts) {
    const r = await api.forward(modelId, ids, opts);
    return transfer(r, ownedBuffers(r));
  },
  async loadModel(source, opts, onProgress) {
    try {
      return await api.loadModel(source, opts, onProgress);
    } finally {
      (onProgress as Remote<typeof onProgress> | undefined)?.[releaseProxy]?.();
    }
  },
  async generate(modelId, ids, opts, onToken) {
    try {
      return await api.generate(modelId, ids, opts, onToken);
    } finally {
      // The page's callback arrives as a proxy with its own message port; close it when the stream ends.
      (onToken as Remote<typeof onToken> | undefined)?.[releaseProxy]?.();
    }
  },
};

expose(exposed);
