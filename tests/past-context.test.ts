// Positions past max_position_embeddings on a rotary model: refused by default, or computed with a warning that
// the output carries (CLI --past-context warn); never computed silently.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { nodeGpu } from '../src/gpu/node';
import { Model } from '../src/engine/model';
import { folderFiles } from '../src/engine/files-node';
import { pastContextWarning } from '../src/engine/rope';

import { writeTinyModel } from './fixtures/tiny-models';

const TINY = writeTinyModel('llama-gqa'); // max_position_embeddings 128
const BIN = fileURLToPath(new URL('../bin/latentlab.js', import.meta.url));
const ids = (n: number) => Array.from({ length: n }, (_, i) => 3 + (i % 20));

describe('positions past the context (a tiny Llama: max_position_embeddings 128)', () => {
  let model: Model;
  beforeAll(async () => {
    model = await Model.load(await nodeGpu(), folderFiles(TINY), { dtype: 'f32' });
  });
  afterAll(() => model.dispose());

  test('the last trained position computes; one more is refused, in a forward and in generation', async () => {
    expect((await model.forward(ids(128))).logits!.every(Number.isFinite)).toBe(true);
    expect(pastContextWarning(model.parts.rope, model.config)).toBeNull();
    await expect(model.forward(ids(129))).rejects.toThrow(/position 128 is past the model's context \(max_position_embeddings 128: positions 0\.\.127\); shorten the input, or compute anyway and be warned \(CLI: --past-context warn\)/);
    await expect(model.forward([1, 2], { positions: [0, 300] })).rejects.toThrow(/position 300 is past the model's context/);
    await expect(model.generate(ids(126), { maxNewTokens: 5, stop: [] })).rejects.toThrow(/position 128 is past the model's context/);
  });

  test('with warn it computes and says so', async () => {
    model.parts.rope!.beyondContext = 'warn';
    try {
      expect((await model.forward(ids(136))).logits!.length).toBe(136 * model.config.vocab);
      expect(pastContextWarning(model.parts.rope, model.config)).toMatch(/positions up to 135 were computed past max_position_embeddings 128/);
    } finally {
      model.parts.rope!.beyondContext = 'refuse';
      model.parts.rope!.pastContext = 0;
    }
  });

  test('the CLI refuses by default (generate caps its new tokens instead) and, with --past-context warn, puts the warning in its JSON', async () => {
    const refused = await promisify(execFile)(process.execPath, [BIN, 'logits', '--model', TINY, '--ids', ids(129).join(','), '--json'], { timeout: 120_000 }).then(() => null, (e) => e);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(/latentlab: position 128 is past the model's context/);
    const args = ['generate', '--model', TINY, '--ids', ids(127).join(','), '--max-new-tokens', '3', '--temperature', '0', '--stop', '0', '--json'];
    const capped = JSON.parse((await promisify(execFile)(process.execPath, [BIN, ...args], { timeout: 120_000 })).stdout);
    expect(capped.ids).toHaveLength(1);
    expect(capped.warning).toBeUndefined();
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args, '--past-context', 'warn'], { timeout: 120_000 });
    const json = JSON.parse(stdout);
    expect(json.ids).toHaveLength(3);
    expect(json.warning).toMatch(/positions up to 128 were computed past max_position_embeddings 128/);
    expect(stderr).toMatch(/warning: positions up to 128/);
  }, 360_000);
});
