// Batched forwards, token log-probabilities and k samples per prompt against the float64 reference run one
// sequence at a time: packed sequences must not see each other, and forked KV rows must decode like generate.
import { beforeAll, describe, expect, test } from 'vitest';
import { nodeGpu } from '../src/gpu/node';
import { Model, runtimeFor } from '../src/engine/model';
import { folderFiles } from '../src/engine/files-node';
import { sampleSeed } from '../src/engine/samples';
import { Pass } from '../src/gpu/runtime';
import { scoreTokens } from '../src/engine/ops';
import { writeTinyModel, type TinyKind } from './fixtures/tiny-models';
import { loadRefModel, referenceForward, referenceGreedy, type RefModel } from './reference/reference';
import { referenceScores } from './reference/scores';
import { expectClose } from './helpers/close';
import { fileURLToPath } from 'node:url';

// Lengths 1..16, so the packed batch has tokens at many offsets; T ≥ 4 runs attention's thread-per-row kernel.
const PROMPTS = [[5], [9, 13, 2], [7, 7, 7, 7, 1, 30, 2], [11, 3, 60, 41], Array.from({ length: 16 }, (_, i) => (i * 17 + 3) % 64)];

function expectScore(name: string, got: { logit: number; logprob: number; rank: number }, want: { logit: number; logprob: number; rankLow: number; rankHigh: number }): void {
  expectClose(`${name} logit`, [got.logit], [want.logit]);
  expectClose(`${name} logprob`, [got.logprob], [want.logprob]);
  expect(got.rank, `${name} rank`).toBeGreaterThanOrEqual(want.rankLow);
  expect(got.rank, `${name} rank`).toBeLessThanOrEqual(want.rankHigh);
}

describe.each(['llama-gqa', 'llama-wide-heads', 'gpt2', 'qwen2'] as TinyKind[])('%s', (kind) => {
  let model: Model;
  let ref: RefModel;
  beforeAll(async () => {
    const dir = writeTinyModel(kind);
    model = await Model.load(await nodeGpu(), folderFiles(dir));
    ref = loadRefModel(dir);
  });

  test('a batch gives each prompt its own last logits and hook reads', async () => {
    const name = 'blocks.1.hook_resid_post';
    // 31 tokens; 3 (attention's workgroup kernel); 128 (the norm's thread-per-row kernel).
    const many = Array.from({ length: 8 }, (_, p) => Array.from({ length: 16 }, (_, t) => (p * 13 + t * 5 + 1) % 64));
    for (const prompts of [PROMPTS, [[5], [9, 13]], many]) {
      const out = await model.forwardBatch(prompts, { lastLogits: true, hooks: [{ name, op: 'read' }] });
      const V = model.config.vocab;
      prompts.forEach((ids, i) => {
        const want = referenceForward(ref, ids, [{ name, op: 'read' }]);
        expectClose(`prompt ${i} logits`, out.last![i], want.logits.subarray((ids.length - 1) * V));
        expectClose(`prompt ${i} ${name}`, out.cache[i][name], want.cache.get(name)!);
      });
    }
  });

  test('a one-row edit in a batch acts on every prompt like on each alone', async () => {
    const D = model.config.hidden;
    const hooks = [{ name: 'blocks.0.hook_resid_post', op: 'add' as const, value: Array.from({ length: D }, (_, i) => Math.sin(i)), coeff: 2 }];
    const out = await model.forwardBatch(PROMPTS, { lastLogits: true, hooks });
    const V = model.config.vocab;
    PROMPTS.forEach((ids, i) => expectClose(`prompt ${i}`, out.last![i], referenceForward(ref, ids, hooks).logits.subarray((ids.length - 1) * V)));
  });

  test('log-probabilities and ranks of labelled tokens', async () => {
    const mask = PROMPTS.map((ids, i) => ids.map((_, t) => t > 0 && (t + i) % 3 !== 0));
    const got = await model.logprobs(PROMPTS, { mask });
    PROMPTS.forEach((ids, i) => {
      const positions = ids.map((_, t) => t).filter((t) => mask[i][t]);
      expect(got[i].positions).toEqual(positions);
      positions.forEach((t, j) => {
        const [want] = referenceScores(ref, ids, t - 1, [ids[t]]);
        expectScore(`seq ${i} token ${t}`, { logit: want.logit, logprob: got[i].logprobs[j], rank: got[i].ranks[j] }, want);
      });
    });
    const all = await model.logprobs([PROMPTS[4]]);
    expect(all[0].positions).toEqual(PROMPTS[4].map((_, t) => t).slice(1));
    const from = await model.logprobs([PROMPTS[4]], { from: 10 });
    expect(from[0].positions).toEqual([10, 11, 12, 13, 14, 15]);
    expectClose('from 10', from[0].logprobs, all[0].logprobs.slice(9));
    expect(from[0].ranks).toEqual(all[0].ranks.slice(9));
  });

  test('candidate tokens scored at chosen positions', async () => {
    const queries = [
      { seq: 4, position: 6, candidates: [1, 2, 3] },
      { seq: 0, position: 0, candidates: [63] },
      { seq: 2, position: 6, candidates: [7, 30] },
    ];
    const got = await model.candidateScores(PROMPTS, queries);
    queries.forEach((q, i) => {
      const want = referenceScores(ref, PROMPTS[q.seq], q.position, q.candidates);
      expect(got[i].length).toBe(q.candidates.length);
      want.forEach((w, c) => expectScore(`query ${i} candidate ${c}`, got[i][c], w));
    });
  });

  test('k greedy samples per prompt equal the reference; sampled ones equal generate with their seeds', async () => {
    const prompts = [[5, 9], [3], [12, 40, 8, 1, 2]];
    const greedy = await model.sample(prompts, { k: 3, maxNewTokens: 7, stop: [] });
    prompts.forEach((ids, i) => {
      const want = referenceGreedy(ref, ids, 7);
      for (const s of greedy[i]) expect(s).toEqual({ ids: want, finish: 'length' });
    });
    const o = { temperature: 1.3, topP: 0.95, maxNewTokens: 9, stop: [0, 1], seed: 7 };
    const sampled = await model.sample(prompts, { ...o, k: 4 });
    for (const [i, ids] of prompts.entries()) {
      for (let j = 0; j < 4; j++) {
        const want = await model.generate(ids, { ...o, seed: sampleSeed(7, i, j) });
        expect(sampled[i][j].ids, `prompt ${i} sample ${j}`).toEqual(want);
        expect(sampled[i][j].finish).toBe(want.length < 9 || o.stop.includes(want[want.length - 1]) ? 'stop' : 'length');
      }
    }
    expect(await model.sample(prompts, { ...o, k: 4 })).toEqual(sampled);
  });
});

describe('logprobs.wgsl', () => {
  test.each([300, 5000])('logit, log-probability and rank of chosen ids in a %i-token vocabulary', async (V) => {
    const rt = runtimeFor(await nodeGpu());
    const R = 3;
    const C = 4;
    const rows = Array.from({ length: R }, (_, r) => Array.from({ length: V }, (_, i) => 4 * Math.sin(i * 0.37 + r) + (i % 97 === 0 ? 3 : 0)));
    const targets = rows.flatMap((_, r) => [0, 97, V - 1, (r * 1234) % V]);
    const logits = rt.createStatic(Float32Array.from(rows.flat()));
    const pass = new Pass(rt);
    const ids = pass.scratchBuffer(R * C * 4);
    rt.write(ids, Uint32Array.from(targets));
    const out = pass.scratchBuffer(R * C * 3 * 4);
    scoreTokens(pass, logits, ids, out, V, C, 0, R);
    const read = pass.read(out, R * C * 3 * 4);
    await pass.submit();
    const got = await read;
    rows.forEach((row, r) => {
      const m = Math.max(...row);
      const logZ = m + Math.log(row.reduce((a, x) => a + Math.exp(x - m), 0));
      for (let c = 0; c < C; c++) {
        const at = 3 * (r * C + c);
        const x = row[targets[r * C + c]];
        expectClose(`row ${r} id ${targets[r * C + c]}`, [got[at], got[at + 1]], [x, x - logZ]);
        expect(got[at + 2]).toBeGreaterThanOrEqual(row.filter((y) => y > x + 1e-4).length);
        expect(got[at + 2]).toBeLessThanOrEqual(row.filter((y) => y > x - 1e-4).length);
      }
    });
    logits.destroy();
  });
});

describe('batch errors and stops', () => {
  let model: Model;
  beforeAll(async () => {
    model = await Model.load(await nodeGpu(), folderFiles(writeTinyModel('llama-gqa')));
  });

  test('bad input is refused with the problem named', async () => {
    await expect(model.forwardBatch([])).rejects.toThrow(/at least one sequence/);
    await expect(model.forwardBatch([[1], []])).rejects.toThrow(/sequence 1 of the batch is empty/);
    await expect(model.logprobs([[1, 99]])).rejects.toThrow(/token id 99 is outside the vocabulary/);
    await expect(model.logprobs([[1, 2]], { mask: [[true, true]] })).rejects.toThrow(/labels token 0/);
    await expect(model.logprobs([[1, 2]], { mask: [[false]] })).rejects.toThrow(/1 entries for a sequence of 2 tokens/);
    await expect(model.forwardBatch([[1, 2]], { hooks: [{ name: 'blocks.0.attn.hook_pattern', op: 'read' }] })).rejects.toThrow(/not available in a batch/);
    await expect(model.forwardBatch([[1, 2]], { hooks: [{ name: 'blocks.0.hook_resid_pre', op: 'zero', positions: [1] }] })).rejects.toThrow(/positions are not available/);
    await expect(model.candidateScores([[1, 2]], [{ seq: 0, position: 2, candidates: [1] }])).rejects.toThrow(/position 2 is outside sequence 0/);
    await expect(model.sample([[1]], { k: 0, maxNewTokens: 2 })).rejects.toThrow(/k \(samples per prompt\) must be a positive integer/);
    await expect(model.sample([[1]], { k: 2, maxNewTokens: 2, stopStrings: ['x'] })).rejects.toThrow(/stop strings need a decode function/);
    await expect(model.sample([[1]], { k: 2, maxNewTokens: 2, hooks: [{ name: 'blocks.0.hook_resid_pre', op: 'read' }] })).rejects.toThrow(/reads are not returned/);
    const D = model.config.hidden;
    const inf = [{ name: 'blocks.1.hook_resid_post', op: 'add' as const, value: Array(D).fill(Infinity) }];
    await expect(model.logprobs([[1, 2, 3]], { hooks: inf } as never)).resolves.toBeDefined(); // hooks are not a logprobs option
    await expect(model.forwardBatch([[1, 2, 3]], { hooks: inf, picks: [{ row: 1, targets: [2] }] })).rejects.toThrow(/logits hold NaN or \+Inf/);
  });

  test('scores are computed a chunk of rows at a time when all the rows\' logits exceed the largest buffer', async () => {
    const whole = await model.logprobs(PROMPTS);
    const limits = model.parts.rt.gpu.limits;
    const saved = limits.maxStorageBufferBindingSize;
    limits.maxStorageBufferBindingSize = 3 * model.config.vocab * 4; // 3 rows of logits per chunk
    try {
      expect(await model.logprobs(PROMPTS)).toEqual(whole);
    } finally {
      limits.maxStorageBufferBindingSize = saved;
    }
  });

  test('stop ids and stop strings end each sample on its own', async () => {
    const prompts = [[5, 9], [3]];
    const free = await model.sample(prompts, { k: 2, maxNewTokens: 8, temperature: 1, seed: 3, stop: [] });
    const target = free[1][1].ids[3];
    const stopped = await model.sample(prompts, { k: 2, maxNewTokens: 8, temperature: 1, seed: 3, stop: [target] });
    free.forEach((row, i) =>
      row.forEach((s, j) => {
        const at = s.ids.indexOf(target);
        expect(stopped[i][j]).toEqual(at < 0 ? s : { ids: s.ids.slice(0, at + 1), finish: 'stop' });
      }),
    );
    const decode = (ids: number[]) => ids.map((id) => `<${id}>`).join('');
    const word = `<${free[0][0].ids[2]}>`;
    const byText = await model.sample(prompts, { k: 2, maxNewTokens: 8, temperature: 1, seed: 3, stop: [], stopStrings: [word], decode });
    free.forEach((row, i) =>
      row.forEach((s, j) => {
        const at = s.ids.findIndex((_, n) => decode(s.ids.slice(0, n + 1)).includes(word));
        expect(byText[i][j]).toEqual(at < 0 ? s : { ids: s.ids.slice(0, at + 1), finish: 'stop_string' });
      }),
    );
  });
});

const STORIES = fileURLToPath(new URL('../../shared/models/stories260K', import.meta.url));

describe('stories260K (a real pretrained llama2.c checkpoint)', () => {
  test('token log-probabilities of a batch equal the reference', async () => {
    const model = await Model.load(await nodeGpu(), folderFiles(STORIES));
    const ref = loadRefModel(STORIES);
    const seqs = [[1, 403, 407, 261, 378], [1, 9, 300, 50, 7, 260, 280]];
    const got = await model.logprobs(seqs);
    seqs.forEach((ids, i) =>
      got[i].positions.forEach((t, j) => {
        const [want] = referenceScores(ref, ids, t - 1, [ids[t]]);
        expectScore(`seq ${i} token ${t}`, { logit: want.logit, logprob: got[i].logprobs[j], rank: got[i].ranks[j] }, want);
      }),
    );
    model.dispose();
  });
});
