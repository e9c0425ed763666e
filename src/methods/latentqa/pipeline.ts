// The pieces the CLI and the worker share: which dataset, the split, and the settings a trained decoder carries
// (latentqa.json beside its PEFT files) so that reading and evaluation rebuild exactly what it was trained on.
import { hubItems, paperItems, parseJsonl, splitByControl, toyItems, toyKind, type StimulusMode } from './data';
import type { Model } from '../../engine/model';
import { readItems, type ReadItem } from './train';
import type { ChatCodec, LqaItem } from './types';

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

type DataFiles = Parameters<typeof dataset>[4];

/** What a trained decoder carries: its data, split and read settings, and how its training ended. */
export function decoderMeta(
  d: Pick<DecoderMeta, 'data' | 'perControl' | 'stimulus' | 'heldOut' | 'seed' | 'layer' | 'ack'>,
  parts: { train: LqaItem[]; testControls: string[] },
  losses: number[],
  modelSha256: string | null,
): DecoderMeta {
  const tail = losses.slice(-10);
  return {
    method: 'latentqa', ...d, heldOutControls: parts.testControls, trainControls: [...new Set(parts.train.map((i) => i.control))].sort(),
    steps: losses.length, finalLoss: tail.reduce((a, b) => a + b, 0) / tail.length, modelSha256,
  };
}

/** Reads for evaluating a decoder: its training split (the probe and the majority answer learn from it) and held-out items. */
export async function evalReads(model: Model, codec: ChatCodec, meta: DecoderMeta, seed: number, files: DataFiles = {}): Promise<{ train: ReadItem[]; test: ReadItem[] }> {
  const parts = split(meta.data, dataset(meta.data, meta.perControl, meta.seed, meta.stimulus, files), meta.heldOut, meta.seed);
  if (parts.testControls.join() !== meta.heldOutControls.join()) throw new Error('the rebuilt split differs from the one the decoder was trained with');
  return {
    train: await readItems(model, codec, parts.train, meta.layer),
    test: await readItems(model, codec, heldOutItems(meta, parts.test, seed), meta.layer),
  };
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
