// The input gradient of a linear layer whatever its weight's storage: plain f32 through matmul.wgsl's `wt` kernel,
// f16 / q8 / q4 or row-split weights through matmul-quant's dx kernel, which dequantizes W as it reads it.
// Such weights are frozen: they pass dA on (LoRA, activation gradients) and have no dW.

import type { Pass } from '../gpu/runtime';
import { matmulWt } from './grad-ops';
import { linearInputGradPacked } from './ops-quant';
import { packedWeightOf } from './packed-weights';

/** dA[M, K] = beta·dA + dC[M, N] · W[N, K]. */
export function linearInputGrad(pass: Pass, M: number, K: number, N: number, dC: GPUBuffer, W: GPUBuffer, dA: GPUBuffer, beta: 0 | 1): void {
  const packed = packedWeightOf(W);
  if (packed) return linearInputGradPacked(pass, M, dC, packed, dA, beta === 1);
  matmulWt(pass, M, K, N, dC, W, dA, beta);
}
