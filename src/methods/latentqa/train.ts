// Step 4 (train): the decoder is the same loaded Model with its own LoRA adapter. The base weights are frozen and
// shared with the target, so no second copy of the model is made. Activations come from the frozen target, so each
// item is read once and its examples (one per QA pair) are reused every epoch.
import type { Model } from '../../engine/model';
import { FinetuneRun, type FinetuneSettings } from '../../engine/finetune';
import type { Example, StepResult } from '../../engine/trainer';
import { allModules } from '../../engine/lora';
import { decoderExample, type DecoderFormat } from './decoder';
import { readActivations, readPrompt, type Activations } from './read';
import type { ChatCodec, LqaItem } from './types';

export interface ReadItem {
  item: LqaItem;
  acts: Activations;
}

/** Read every item's activations from the frozen target. */
export async function readItems(target: Model, codec: ChatCodec, items: LqaItem[], layer: number): Promise<ReadItem[]> {
  const out: ReadItem[] = [];
  for (const item of items) out.push({ item, acts: await readActivations(target, readPrompt(codec, item), layer) });
  return out;
}

export function decoderExamples(codec: ChatCodec, fmt: DecoderFormat, reads: ReadItem[]): Example[] {
  return reads.flatMap((r) => r.item.qa.map((qa) => decoderExample(codec, fmt, r.acts, qa.question, qa.answer)));
}

/** LoRA on attention, MLP and lm_head: the paper's r = 16, α = 32 (PEFT module names of this architecture). */
export function decoderSettings(model: Model, o: Partial<{ rank: number; alpha: number; lr: number; steps: number; batchSize: number; seed: number }> = {}): FinetuneSettings {
  const rank = o.rank ?? 16;
  const names = new Set(allModules(model.config).map((m) => m.name.split('.').pop()!));
  return {
    lora: { rank, alpha: o.alpha ?? 2 * rank, targets: [...names] },
    // The paper's 3e-5 is for 8B models and thousands of steps; small models on a short budget take 1e-3.
    train: { lr: o.lr ?? 1e-3, weightDecay: 0.01, maxGradNorm: 1, schedule: 'cosine', totalSteps: o.steps ?? 200, optimizer: 'adamw' },
    batchSize: o.batchSize ?? 4,
    seed: o.seed ?? 0,
  };
}

/** Train the decoder for `steps` optimizer steps; the run (its adapter in run.lora) is returned for export and reading. */
export async function trainDecoder(
  model: Model,
  examples: Example[],
  settings: FinetuneSettings,
  steps: number,
  onStep?: (r: StepResult) => void,
): Promise<{ run: FinetuneRun; losses: number[] }> {
  const run = new FinetuneRun(model, examples, settings);
  const losses: number[] = [];
  while (run.step < steps) {
    const r = await run.next();
    losses.push(r.loss);
    onStep?.(r);
  }
  return { run, losses };
}
