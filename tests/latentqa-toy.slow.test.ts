// LatentQA on a trained toy model with a shipped decoder (skipped when absent): on held-out personas the decoder must
// beat its text-only control, the untrained decoder and the majority-answer baseline. Override the pair with
// LATENTQA_MODEL / LATENTQA_DECODER (e.g. a decoder just trained with `latentlab latentqa train`).
import { expect, test } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { nodeGpu } from '../src/gpu/node';
import { latentqaCommand } from '../src/cli/latentqa';

const pairs = [
  [process.env.LATENTQA_MODEL ?? '', process.env.LATENTQA_DECODER ?? ''],
  ['public/models/toy-m', 'public/models/toy-m-latentqa'],
  ['public/models/toy-s', 'public/models/toy-s-latentqa'],
];
const found = pairs.find(([m, d]) => m && d && existsSync(join(m, 'config.json')) && existsSync(join(d, 'latentqa.json')));

test.skipIf(!found)('held-out personas: decoder vs text-only, untrained and chance', async () => {
  const [model, decoder] = found!;
  const r = (await latentqaCommand(['eval'], { model, decoder, n: process.env.LATENTQA_N ?? '24', seed: '7', quiet: true }, await nodeGpu())) as Record<string, number | null>;
  console.log(`${model} + ${decoder}: ${JSON.stringify({ ...r, by_question: undefined })}\n${JSON.stringify(r.by_question)}`);
  expect(r.accuracy!).toBeGreaterThan(r.text_only_accuracy!);
  expect(r.accuracy!).toBeGreaterThan(r.untrained_accuracy!);
  expect(r.accuracy!).toBeGreaterThan(r.chance_accuracy!);
}, 600_000);
