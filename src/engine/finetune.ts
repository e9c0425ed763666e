// A LoRA fine-tuning run: adapter + trainer + seeded data order + checkpoints, the unit the
// worker and the CLI drive step by step (so they can report progress, pause and cancel between steps).

import type { Model } from './model';
import { LoraAdapter, type LoraConfig } from './lora';
import { DataOrder } from './data-order';
import { decodeCheckpoint, encodeCheckpoint } from './checkpoint';
import { Trainer, type Example, type StepResult, type TrainOptions } from './trainer';

export interface FinetuneSettings {
  lora: LoraConfig;
  train: TrainOptions;
  batchSize: number;
  seed: number;
}

export class FinetuneRun {
  readonly lora: LoraAdapter;
  readonly trainer: Trainer;
  readonly order: DataOrder;

  constructor(readonly model: Model, readonly data: Example[], readonly settings: FinetuneSettings) {
    const p = model.parts;
    this.lora = LoraAdapter.create(p.rt, model.config, settings.lora, settings.seed);
    const trainables = [...this.lora.modules.values()].flatMap((m) => [
      { name: `${m.name}.lora_A`, buf: m.A, n: m.rank * m.inDim },
      { name: `${m.name}.lora_B`, buf: m.B, n: m.outDim * m.rank },
    ]);
    this.trainer = new Trainer(p, trainables, { seed: settings.seed, ...settings.train }, this.lora);
    this.order = new DataOrder(data.length, settings.seed);
  }

  get step(): number {
    return this.trainer.step;
  }

  async next(): Promise<StepResult> {
    const batch = this.order.next(this.settings.batchSize).map((i) => this.data[i]);
    return this.trainer.train(batch);
  }

  async checkpoint(): Promise<Uint8Array> {
    return encodeCheckpoint({
      step: this.trainer.step,
      cursor: { ...this.order.cursor },
      settings: this.settings as unknown as Record<string, unknown>,
      tensors: await this.trainer.snapshot(),
    });
  }

  /** A run continued from checkpoint bytes, on the same data. */
  static resume(model: Model, data: Example[], bytes: Uint8Array): FinetuneRun {
    const state = decodeCheckpoint(bytes);
    const run = new FinetuneRun(model, data, state.settings as unknown as FinetuneSettings);
    run.trainer.restore(state.tensors, state.step);
    run.order.seek(state.cursor);
    return run;
  }

  dispose(): void {
    this.trainer.destroy();
    this.lora.destroy();
  }
}
