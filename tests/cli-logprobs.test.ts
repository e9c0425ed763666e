// `latentlab logprobs` run as a user runs it, against the float64 reference.
import { describe, expect, test } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { loadRefModel } from './reference/reference';
import { referenceScores } from './reference/scores';
import { expectClose } from './helpers/close';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../bin/latentlab.js', import.meta.url));
const STORIES = fileURLToPath(new URL('../../shared/models/stories260K', import.meta.url));

describe('latentlab logprobs', () => {
  test('prints log p(token_t | tokens before t) and its rank for t ≥ max(--from, 1)', async () => {
    const ids = [1, 403, 407, 261, 378, 9];
    const { stdout } = await run(process.execPath, [BIN, 'logprobs', '--model', STORIES, '--ids', ids.join(','), '--from', '3', '--json'], { timeout: 60_000 });
    const json = JSON.parse(stdout);
    expect(json.positions).toEqual([3, 4, 5]);
    const ref = loadRefModel(STORIES);
    const want = json.positions.map((t: number) => referenceScores(ref, ids, t - 1, [ids[t]])[0]);
    expectClose('logprobs', json.logprobs, want.map((w: { logprob: number }) => w.logprob));
    json.ranks.forEach((r: number, i: number) => {
      expect(r).toBeGreaterThanOrEqual(want[i].rankLow);
      expect(r).toBeLessThanOrEqual(want[i].rankHigh);
    });
    const all = JSON.parse((await run(process.execPath, [BIN, 'logprobs', '--model', STORIES, '--ids', ids.join(','), '--json'])).stdout);
    expect(all.positions).toEqual([1, 2, 3, 4, 5]);
  });

  test('positions past the context are refused, or computed with a warning (--past-context warn)', async () => {
    const ids = Array.from({ length: 514 }, (_, i) => 1 + (i % 300)).join(',');
    await expect(run(process.execPath, [BIN, 'logprobs', '--model', STORIES, '--ids', ids, '--from', '512'])).rejects.toMatchObject({ stderr: expect.stringMatching(/past the model's context/) });
    const { stdout } = await run(process.execPath, [BIN, 'logprobs', '--model', STORIES, '--ids', ids, '--from', '512', '--past-context', 'warn', '--json'], { timeout: 60_000 });
    const json = JSON.parse(stdout);
    expect(json.positions).toEqual([512, 513]);
    expect(json.warning).toMatch(/computed past max_position_embeddings 512/);
  });

  test('a bad --from is refused', async () => {
    await expect(run(process.execPath, [BIN, 'logprobs', '--model', STORIES, '--ids', '1,2', '--from', '-1'])).rejects.toMatchObject({ stderr: expect.stringMatching(/--from must be at least 0/) });
  });
});
