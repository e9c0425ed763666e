// The headless CLI, run as a user runs it: a child process printing JSON.
import { describe, expect, test } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { loadRefModel, referenceForward, referenceGreedy } from './reference/reference';
import { expectClose } from './helpers/close';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../bin/latentlab.js', import.meta.url));
const STORIES = fileURLToPath(new URL('../../shared/models/stories260K', import.meta.url));

async function cli(...args: string[]): Promise<{ json: any; stderr: string }> {
  const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { timeout: 60_000 });
  return { json: JSON.parse(stdout), stderr };
}

describe('latentlab CLI', () => {
  test('generate prints the greedy continuation of [1] that the reference computes, and names the adapter', async () => {
    const { json, stderr } = await cli('generate', '--model', STORIES, '--ids', '1', '--max-new-tokens', '30', '--temperature', '0', '--json');
    expect(json.ids).toEqual(referenceGreedy(loadRefModel(STORIES), [1], 30));
    expect(stderr).toMatch(/adapter: .+/);
  });

  test('logits prints one row of vocabulary logits per position', async () => {
    const { json } = await cli('logits', '--model', STORIES, '--ids', '1,2,3', '--json');
    expect(json.logits).toHaveLength(3);
    expectClose('logits', json.logits.flat(), referenceForward(loadRefModel(STORIES), [1, 2, 3]).logits);
  });

  test('cache prints the named activations with their shapes', async () => {
    const { json } = await cli('cache', '--model', STORIES, '--ids', '1,2,3', '--hooks', 'blocks.2.hook_resid_post,blocks.0.attn.hook_pattern', '--json');
    const want = referenceForward(loadRefModel(STORIES), [1, 2, 3], [{ name: 'blocks.2.hook_resid_post', op: 'read' }]);
    expect(json.activations['blocks.2.hook_resid_post'].shape).toEqual([3, 64]);
    expectClose('resid', json.activations['blocks.2.hook_resid_post'].data, want.cache.get('blocks.2.hook_resid_post')!);
    expect(json.activations['blocks.0.attn.hook_pattern'].shape).toEqual([8, 3, 3]);
  });

  test('market-entry prints the regimes, the entry slopes and the Monte Carlo check', async () => {
    const { json } = await cli('market-entry', '--gamma', '0.5', '--delta', '1', '--rho', '0.5', '--json');
    expect(json.nu).toBeCloseTo(1.5);
    expect(json.loss_exponents).toHaveLength(3);
    expect(json.entry_slopes).toHaveLength(3);
    expect(json.mc_vs_closed_form_max_rel_err).toBeLessThan(0.05);
  });

  test('toyworld eval scores a shipped toy model on fresh held-out items', async () => {
    const toy = fileURLToPath(new URL('../public/models/toy-s', import.meta.url));
    const { json } = await cli('toyworld', 'eval', '--model', toy, '--family', 'sentiment', '--n', '20', '--seed', '5', '--json');
    expect(json).toEqual({ family: 'sentiment', n: 20, accuracy: expect.any(Number), stderr: expect.any(Number) });
    // toy-s's card: sentiment 1.000 on 200 items; 20 fresh items stay well above chance (0.5).
    expect(json.accuracy).toBeGreaterThanOrEqual(0.9);
  });

  test('bad input exits non-zero with the problem named', async () => {
    await expect(run(process.execPath, [BIN, 'logits', '--model', STORIES, '--ids', '1,x'])).rejects.toMatchObject({ stderr: expect.stringMatching(/"x" is not an integer token id/) });
    await expect(run(process.execPath, [BIN, 'logits', '--model', STORIES, '--text', 'hi'])).rejects.toMatchObject({ stderr: expect.stringMatching(/no tokenizer.json/) });
    await expect(run(process.execPath, [BIN, 'frobnicate'])).rejects.toMatchObject({ stderr: expect.stringMatching(/unknown command "frobnicate"/) });
  });
});
