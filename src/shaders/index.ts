// Every WGSL source, imported as text. One kernel family per file.
import matmul from './matmul.wgsl?raw';
import norm from './norm.wgsl?raw';
import activation from './activation.wgsl?raw';
import embedding from './embedding.wgsl?raw';
import add from './add.wgsl?raw';
import hookEdit from './hook-edit.wgsl?raw';
import kvCache from './kv-cache.wgsl?raw';
import attention from './attention.wgsl?raw';
import matmulQuant from './matmul-quant.wgsl?raw';

export const shaders = { matmul, norm, activation, embedding, add, hookEdit, kvCache, attention, matmulQuant } as const;
export type ShaderName = keyof typeof shaders;
