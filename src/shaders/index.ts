// Every WGSL source, imported as text. One kernel family per file.
import matmul from './matmul.wgsl?raw';
import norm from './norm.wgsl?raw';
import activation from './activation.wgsl?raw';
import embedding from './embedding.wgsl?raw';
import embeddingBackward from './embedding-backward.wgsl?raw';
import add from './add.wgsl?raw';
import hookEdit from './hook-edit.wgsl?raw';
import kvCache from './kv-cache.wgsl?raw';
import attention from './attention.wgsl?raw';
import matmulQuant from './matmul-quant.wgsl?raw';
import matmulStrided from './matmul-strided.wgsl?raw';
import normBackward from './norm-backward.wgsl?raw';
import attentionBackward from './attention-backward.wgsl?raw';
import crossEntropy from './cross-entropy.wgsl?raw';
import optimizer from './optimizer.wgsl?raw';
import sampling from './sampling.wgsl?raw';
import dropout from './dropout.wgsl?raw';
import loraBackward from './lora-backward.wgsl?raw';
// Probe fitting (src/engine/fit/); ridge.wgsl is shared with the market-entry Monte Carlo.
import columns from './columns.wgsl?raw';
import logreg from './logreg.wgsl?raw';
import kmeans from './kmeans.wgsl?raw';
import omp from './omp.wgsl?raw';
import ridge from './ridge.wgsl?raw';
import finite from './finite.wgsl?raw';
import logprobs from './logprobs.wgsl?raw';

export const shaders = {
  matmul, norm, activation, embedding, add, hookEdit, kvCache, attention, matmulQuant,
  matmulStrided, normBackward, embeddingBackward, attentionBackward, crossEntropy, optimizer, sampling, dropout, loraBackward,
  columns, logreg, kmeans, omp, ridge,
  finite, logprobs,
} as const;
export type ShaderName = keyof typeof shaders;
