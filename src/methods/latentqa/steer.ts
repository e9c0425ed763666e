// Step 7 (steer): a LoRA on the target (layers up to the read layer) trained so that the frozen decoder's answers to
// QA pairs describing the wanted behaviour become likely. The gradient crosses from the decoder into the target in
// three engine calls per step:
//   1. target forward (with its LoRA) reads the activations at the read layer (a CPU array);
//   2. lossGradients on the decoder with them patched, and a 'grad' hook on the write point, gives
//      d loss / d activation at the placeholders (= d loss / d target activation at the stimulus positions);
//   3. a target training step whose example has no labels and a 'seed' hook at the read layer carrying that gradient.
import type { Model } from '../../engine/model';
import { LoraAdapter, allModules } from '../../engine/lora';
import { Trainer, lossGradients, type StepResult } from '../../engine/trainer';
import { DataOrder } from '../../engine/data-order';
import type { HookSpec } from '../../engine/hooks';
import { decoderExample, WRITE_HOOK, type DecoderFormat } from './decoder';
import { readActivations, readHook, readPrompt, type ReadPrompt } from './read';
import type { ChatCodec, Message, QA } from './types';

export interface SteerSettings {
  layer: number;
  rank: number;
  alpha: number;
  lr: number;
  seed: number;
  /** QA pairs per step (their decoder losses are averaged). */
  qaPerStep: number;
}

export function steerSettings(model: Model, layer: number, o: Partial<SteerSettings> = {}): SteerSettings {
  return { layer, rank: o.rank ?? 16, alpha: o.alpha ?? 32, lr: o.lr ?? 1e-4, seed: o.seed ?? 0, qaPerStep: o.qaPerStep ?? 4 };
}

/** Target LoRA modules: every linear module of the blocks up to and including the read layer. */
export function steerTargets(model: Model, layer: number): string[] {
  const re = /(?:layers|\.h)\.(\d+)\./;
  return allModules(model.config).filter((m) => {
    const x = re.exec(m.name);
    return x && Number(x[1]) <= layer;
  }).map((m) => m.name);
}

/** Decoder loss on the QA pairs for one read prompt, and its gradient with respect to the target's activations. */
export async function decoderLossAndGrad(
  target: Model,
  targetLora: LoraAdapter | null,
  decoderLora: LoraAdapter,
  codec: ChatCodec,
  fmt: DecoderFormat,
  p: ReadPrompt,
  layer: number,
  qas: QA[],
): Promise<{ loss: number; grad: Float32Array }> {
  const a = await readActivations(target, p, layer, targetLora);
  const D = a.width;
  const grad = new Float32Array(p.ids.length * D);
  let loss = 0;
  for (const qa of qas) {
    const ex = decoderExample(codec, fmt, a, qa.question, qa.answer);
    const r = await lossGradients(target.parts, ex, [{ name: WRITE_HOOK, op: 'grad' }], decoderLora);
    const g = r.cache[`${WRITE_HOOK}.grad`];
    const slot0 = (ex.hooks![0].positions as number[])[0];
    // Placeholder row i holds the activation of target position p.start + i.
    for (let i = 0; i < a.positions.length; i++) {
      for (let j = 0; j < D; j++) grad[(p.start + i) * D + j] += g[(slot0 + i) * D + j] / qas.length;
    }
    loss += r.loss / qas.length;
  }
  return { loss, grad };
}

/** The label-free target example that backpropagates `grad` from the read layer into the target's LoRA. */
export function seedExample(p: ReadPrompt, layer: number, grad: Float32Array) {
  const positions = Array.from({ length: p.ids.length - p.start }, (_, i) => p.start + i);
  const hooks: HookSpec[] = [{ name: readHook(layer), op: 'seed', value: grad, positions }];
  return { ids: p.ids, labels: p.ids.map(() => -1), hooks };
}

export class SteerRun {
  readonly lora: LoraAdapter;
  readonly trainer: Trainer;
  private prompts: ReadPrompt[];
  private order: DataOrder;
  private qaOrder: DataOrder;

  constructor(
    readonly target: Model,
    readonly decoderLora: LoraAdapter,
    readonly codec: ChatCodec,
    readonly fmt: DecoderFormat,
    /** Stimuli: dialogs without a control (e.g. one user turn), or read prompts already tokenized (plain text). */
    stimuli: (Message[] | ReadPrompt)[],
    readonly qa: QA[],
    readonly settings: SteerSettings,
  ) {
    if (!stimuli.length || !qa.length) throw new Error('steering needs stimuli and QA pairs');
    const p = target.parts;
    this.lora = LoraAdapter.create(p.rt, target.config, { rank: settings.rank, alpha: settings.alpha, targets: steerTargets(target, settings.layer) }, settings.seed);
    const trainables = [...this.lora.modules.values()].flatMap((m) => [
      { name: `${m.name}.lora_A`, buf: m.A, n: m.rank * m.inDim },
      { name: `${m.name}.lora_B`, buf: m.B, n: m.outDim * m.rank },
    ]);
    this.trainer = new Trainer(p, trainables, { lr: settings.lr, optimizer: 'adamw', maxGradNorm: 1 }, this.lora);
    this.prompts = stimuli.map((s) => (Array.isArray(s) ? readPrompt(codec, { controlMessages: [], stimulus: s }) : s));
    this.order = new DataOrder(this.prompts.length, settings.seed);
    this.qaOrder = new DataOrder(qa.length, settings.seed + 1);
  }

  get step(): number {
    return this.trainer.step;
  }

  /** One step: decoder loss (before the update) on a stimulus and a few QA pairs, then the target LoRA update. */
  async next(): Promise<StepResult & { decoderLoss: number }> {
    const p = this.prompts[this.order.next(1)[0]];
    const qas = this.qaOrder.next(Math.min(this.settings.qaPerStep, this.qa.length)).map((i) => this.qa[i]);
    const { loss, grad } = await decoderLossAndGrad(this.target, this.lora, this.decoderLora, this.codec, this.fmt, p, this.settings.layer, qas);
    const r = await this.trainer.train([seedExample(p, this.settings.layer, grad)]);
    return { ...r, decoderLoss: loss };
  }

  /** Mean decoder loss over every stimulus and every QA pair with the current target LoRA. */
  async decoderLoss(): Promise<number> {
    let s = 0;
    for (const p of this.prompts) s += (await decoderLossAndGrad(this.target, this.lora, this.decoderLora, this.codec, this.fmt, p, this.settings.layer, this.qa)).loss;
    return s / this.prompts.length;
  }

  dispose(): void {
    this.trainer.destroy();
    this.lora.destroy();
  }
}

/** Fraction of generations containing any of `words` (case-insensitive, whole words). */
export function wordRate(texts: string[], words: string[]): number {
  const set = new Set(words.map((w) => w.toLowerCase()));
  if (!texts.length) return 0;
  return texts.filter((t) => t.toLowerCase().split(/[^a-z0-9']+/).some((w) => set.has(w))).length / texts.length;
}

/** Fraction of generations that degenerate: some word repeated 4 or more times in a row. */
export function repetitionRate(texts: string[]): number {
  if (!texts.length) return 0;
  return texts.filter((t) => /(^|\s)(\S+)(\s+\2){3,}(\s|$)/.test(t)).length / texts.length;
}
