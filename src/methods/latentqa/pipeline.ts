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

/** Evaluation items: for toy data fresh chats of the held-out controls (another seed than training's), else its held-out items. */
export function heldOutItems(meta: DecoderMeta, test: LqaItem[], seed: number): LqaItem[] {
  if (meta.data !== 'toy') return test;
  return dataset('toy', meta.perControl, seed + 1000, meta.stimulus).filter((i) => meta.heldOutControls.includes(i.control));
}

/** What a reading page offers: hidden system prompts (held-out controls first), user turns and questions. */
export interface ReadPresets {
  systems: { control: string; heldOut: boolean; text: string }[];
  users: string[];
  questions: string[];
}

export function readPresets(data: string, heldOutControls: string[]): ReadPresets {
  const items = data === 'hub' ? hubItems() : toyItems(1, 0, 'user');
  const first = new Map<string, LqaItem>();
  for (const i of items) if (!first.has(i.control)) first.set(i.control, i);
  const systems = [...first.values()]
    .map((i) => ({ control: i.control, heldOut: heldOutControls.includes(i.control), text: i.controlMessages[0].content }))
    .sort((a, b) => Number(b.heldOut) - Number(a.heldOut) || a.control.localeCompare(b.control));
  const users = [...new Set(items.map((i) => i.stimulus[0].content))].slice(0, 12);
  // The standard questions: those asked of at least half the controls (not "Is the assistant a pirate ?").
  const asked = new Map<string, Set<string>>();
  for (const i of items) for (const qa of i.qa) asked.set(qa.question, (asked.get(qa.question) ?? new Set()).add(i.control));
  const questions = [...asked.entries()].filter(([, cs]) => cs.size * 2 >= first.size).map(([q]) => q);
  return { systems, users, questions };
}
