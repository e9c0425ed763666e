// The pieces the CLI and the worker share: which dataset, the split, and the settings a trained decoder carries
// (latentqa.json beside its PEFT files) so that reading and evaluation rebuild exactly what it was trained on.
import { hubItems, paperItems, parseJsonl, splitByControl, toyItems, toyKind, type StimulusMode } from './data';
import type { LqaItem } from './types';

export interface DecoderMeta {
  method: 'latentqa';
  /** 'toy' (toy-world persona chats), 'hub' (the built-in persona set) or the JSONL text's file name. */
  data: string;
  perControl: number;
  stimulus: StimulusMode;
  heldOut: number;
  seed: number;
  layer: number;
  ack: string;
  heldOutControls: string[];
  trainControls: string[];
  steps: number;
  finalLoss: number;
  /** sha256 of the target's model.safetensors when it was a folder (null otherwise). */
  modelSha256?: string | null;
}

/**
 * The dataset named by `data`: 'toy', 'hub', 'paper:DIR' (the paper's eval/system.json + eval/qa.json, passed in as
 * `files`), or a JSONL file (its text in `files.jsonl`).
 */
export function dataset(data: string, perControl: number, seed: number, stimulus: StimulusMode, files: { jsonl?: string; system?: string; qa?: string } = {}): LqaItem[] {
  if (data === 'toy') return toyItems(perControl, seed, stimulus);
  if (data === 'hub') return hubItems();
  if (data.startsWith('paper:')) {
    if (files.system === undefined || files.qa === undefined) throw new Error(`${data}: eval/system.json and eval/qa.json are needed`);
    return paperItems(files.system, files.qa);
  }
  if (files.jsonl === undefined) throw new Error(`--data must be toy, hub, paper:DIR or a .jsonl file; got ${data}`);
  return parseJsonl(files.jsonl);
}

export function split(data: string, items: LqaItem[], heldOut: number, seed: number) {
  return splitByControl(items, heldOut, seed, data === 'toy' ? toyKind : undefined);
}
