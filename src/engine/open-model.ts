// A model and its tokenizer from either kind of source: Hub-layout files (a folder, a URL, a Hub download)
// or the bytes of one GGUF file.

import type { Gpu } from '../gpu/device';
import { memoryFiles, type ModelFiles, type RandomAccessFile } from './files';
import { readGgufModel } from './gguf-model';
import { Model, type LoadOptions } from './model';
import { Tokenizer } from './tokenizer';

export interface OpenedModel {
  model: Model;
  tokenizer: Tokenizer | null;
  /** Why there is no tokenizer, when that is worth saying (GGUF). */
  tokenizerNote?: string;
  /** Hub-layout files it came from (not for GGUF): a fine-tuned copy is saved with their config and tokenizer. */
  files?: ModelFiles;
}

export async function openFiles(gpu: Gpu, files: ModelFiles, opts: LoadOptions = {}): Promise<OpenedModel> {
  const model = await Model.load(gpu, files, opts);
  try {
    return { model, tokenizer: await Tokenizer.load(files), files };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** A GGUF file: its bytes, or (for files larger than memory allows) ranged access to it. */
export async function openGguf(gpu: Gpu, src: Uint8Array | RandomAccessFile, label: string, opts: LoadOptions = {}): Promise<OpenedModel> {
  const g = await readGgufModel(src, label);
  const model = await Model.fromTensors(gpu, g.config, g.tensors, label, opts);
  if ('reason' in g.tokenizer) return { model, tokenizer: null, tokenizerNote: `${label}: ${g.tokenizer.reason}` };
  const files = memoryFiles(label, { 'tokenizer.json': JSON.stringify(g.tokenizer.json), 'tokenizer_config.json': JSON.stringify(g.tokenizer.config) });
  try {
    return { model, tokenizer: await Tokenizer.load(files) };
  } catch (e) {
    model.dispose();
    throw e;
  }
}
