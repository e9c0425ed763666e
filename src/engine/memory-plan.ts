// Before anything is uploaded: the GPU bytes each weight will take in the chosen dtype, the total, and
// whether the device can hold it. Matrices larger than the largest storage binding are split by rows
// (engine/packed-weights.ts); anything else that cannot fit is refused here with the numbers.

import type { ModelConfig } from './config';
import { packedBytes, type WeightDtype } from './quant';

export interface PlannedTensor {
  name: string;
  rows: number;
  cols: number;
  dtype: WeightDtype;
  bytes: number;
  /** Buffers it is split into (1 when it fits one binding). */
  parts: number;
}

export interface MemoryPlan {
  dtype: WeightDtype;
  tensors: PlannedTensor[];
  total: number;
  params: number;
}

export interface DeviceLimits {
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
}

/** Default total weight budget when the caller gives none: WebGPU does not report the device's memory. */
export const DEFAULT_BUDGET = 2 * 2 ** 30;

const MiB = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

export function planMemory(cfg: ModelConfig, dtype: WeightDtype, limits: DeviceLimits): MemoryPlan {
  const D = cfg.hidden;
  const I = cfg.intermediate;
  const qkv = (cfg.nHeads + 2 * cfg.nKvHeads) * cfg.headDim;
  const upRows = cfg.gatedMlp ? 2 * I : I;
  const table: WeightDtype = dtype === 'q4' ? 'q8' : dtype;
  const maxBinding = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  const tensors: PlannedTensor[] = [];
  let params = 0;
  const mat = (name: string, rows: number, cols: number, dt: WeightDtype, splittable = true) => {
    const bytes = packedBytes(dt, rows, cols);
    const perRow = packedBytes(dt, 1, cols);
    const parts = bytes <= maxBinding ? 1 : Math.ceil(rows / Math.max(1, Math.floor(maxBinding / perRow)));
    if ((parts > 1 && !splittable) || perRow > maxBinding) {
      throw new Error(
        `${name} [${rows}, ${cols}] as ${dt} needs ${MiB(bytes)} in one buffer, but this device binds at most ${MiB(maxBinding)}` +
          ` (maxStorageBufferBindingSize ${limits.maxStorageBufferBindingSize}, maxBufferSize ${limits.maxBufferSize})`,
      );
    }
    tensors.push({ name, rows, cols, dtype: dt, bytes, parts });
    params += rows * cols;
  };
  const vec = (name: string, n: number) => mat(name, 1, n, 'f32', false);
  mat('embed', cfg.vocab, D, table);
  if (cfg.arch === 'gpt2') mat('pos_embed', cfg.maxPositions, D, 'f32', false);
  for (let i = 0; i < cfg.nLayers; i++) {
    const b = `blocks.${i}`;
    const shift = cfg.norm === 'layernorm' ? 2 : 1;
    vec(`${b}.ln1`, shift * D);
    mat(`${b}.qkv`, qkv, D, dtype);
    if (cfg.qkvBias) vec(`${b}.qkv.bias`, qkv);
    mat(`${b}.o`, D, cfg.nHeads * cfg.headDim, dtype);
    if (cfg.oBias) vec(`${b}.o.bias`, D);
    vec(`${b}.ln2`, shift * D);
    mat(`${b}.up`, upRows, D, dtype);
    if (cfg.mlpBias) vec(`${b}.up.bias`, upRows);
    mat(`${b}.down`, D, I, dtype);
    if (cfg.mlpBias) vec(`${b}.down.bias`, D);
  }
  vec('ln_final', (cfg.norm === 'layernorm' ? 2 : 1) * D);
  if (!cfg.tiedEmbeddings) mat('lm_head', cfg.vocab, D, table);
  return { dtype, tensors, total: tensors.reduce((n, t) => n + t.bytes, 0), params };
}

/** The plan for `dtype`, or for 'auto' the most precise of f32, f16, q8, q4 whose total fits the budget; throws with the numbers. */
export function chooseDtype(cfg: ModelConfig, dtype: WeightDtype | 'auto', limits: DeviceLimits, budget = DEFAULT_BUDGET): MemoryPlan {
  const order: WeightDtype[] = dtype === 'auto' ? ['f32', 'f16', 'q8', 'q4'] : [dtype];
  const tried: string[] = [];
  for (const dt of order) {
    const plan = planMemory(cfg, dt, limits);
    if (plan.total <= budget) return plan;
    tried.push(`${dt} ${MiB(plan.total)}`);
  }
  throw new Error(
    `model too large for this device: its weights need ${tried.join(', ')} but the budget is ${MiB(budget)}` +
      `; ${dtype === 'auto' ? '' : 'try a smaller --dtype (f16, q8 or q4), or '}raise the GPU memory budget (--gpu-budget-mb) if the device has more`,
  );
}
