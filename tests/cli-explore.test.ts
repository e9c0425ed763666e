// `latentlab lens | patch | steer` run as a user runs them, against the worker's calls (EngineApi.method, as the
// Explore page makes them) on the same model: one implementation (src/methods/explore), two hosts, the same numbers.
// Also: the example inputs the page offers are in the loaded model's vocabulary (toy-s has no "capital").
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, test } from 'vitest';
import { createEngineApi } from '../src/workers/engine-api';
import { methodClient, type MethodClient } from '../src/workers/method-client';
import { nodeGpu } from '../src/gpu/node';
import type Explore from '../src/methods/explore/method';
import type { EngineApi, LoadedModel } from '../src/workers/api';
import { PATCHING, STEERING } from '../src/methods/explore/examples';
import { toNpy } from '../src/methods/explore/vector-file';
import { writeTinyModel } from './fixtures/tiny-models';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../bin/latentlab.js', import.meta.url));
const TOY_S = fileURLToPath(new URL('../public/models/toy-s', import.meta.url));

async function cli(...args: string[]): Promise<any> {
  const { stdout } = await run(process.execPath, [BIN, ...args, '--quiet', '--json'], { timeout: 120_000 });
  return JSON.parse(stdout);
}

function blobs(dir: string): Record<string, Blob> {
  const names = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json'];
  return Object.fromEntries(names.flatMap((f) => {
    try {
      return [[f, new Blob([readFileSync(join(dir, f))])]];
    } catch {
      return [];
    }
  }));
}

const values = (g: { values: ArrayLike<number> } | null) => (g ? Array.from(g.values) : null);

let api: EngineApi;
let explore: MethodClient<typeof Explore>;
beforeAll(() => {
  api = createEngineApi(() => nodeGpu());
  explore = methodClient<typeof Explore>(api, 'explore');
});

describe('on a tiny Llama (token ids)', () => {
  let dir: string;
  let m: LoadedModel;
  beforeAll(async () => {
    dir = writeTinyModel('llama-gqa', 4);
    m = await api.loadModel({ kind: 'local', label: 'tiny', files: blobs(dir) });
  });

  test('lens prints the logit lens the page gets', async () => {
    const ids = [1, 17, 5, 42];
    const got = await cli('lens', '--model', dir, '--ids', ids.join(','), '--k', '3');
    const want = await explore.lens(m.id, { ids, k: 3 });
    expect(got.rows).toEqual(want.rows);
    expect(got.top.map((r: any[]) => r.map((c: any[]) => c.map((t) => [t.id, t.text])))).toEqual(want.top.map((r) => r.map((c) => c.map((t) => [t.id, t.text]))));
    got.final.flat().forEach((p: number, i: number) => expect(p).toBeCloseTo(want.final.flat()[i], 5));
  });

  test('patch prints the sweep the page gets (grids as arrays)', async () => {
    const req = { clean: [1, 20, 25, 4, 9], corrupt: [1, 21, 25, 4, 9], answer: 3, wrong: 11 };
    const got = await cli('patch', '--model', dir, '--clean-ids', req.clean.join(','), '--corrupt-ids', req.corrupt.join(','), '--answer-id', '3', '--wrong-id', '11');
    const want = await explore.patch(m.id, req);
    expect(got.done).toBe(want.total);
    expect(got.cancelled).toBe(false);
    expect(got.metricClean).toBeCloseTo(want.metricClean, 5);
    for (const g of ['resid', 'heads'] as const) {
      expect(got[g].rowLabels).toEqual(want[g]!.rowLabels);
      got[g].values.forEach((v: number, i: number) => expect(v).toBeCloseTo(values(want[g])![i], 4));
    }
    const resid = await cli('patch', '--model', dir, '--clean-ids', req.clean.join(','), '--corrupt-ids', req.corrupt.join(','), '--answer-id', '3', '--wrong-id', '11', '--sweep', 'resid');
    expect(resid.heads).toBeNull();
    expect(resid.resid.values).toEqual(got.resid.values);
  });

  test('steer prints the vector and both continuations the page gets', async () => {
    const args = { ids: [1, 5], hook: 'blocks.1.hook_resid_pre', positive: [[1, 5, 9], [1, 6]], negative: [[1, 40, 41, 42]] };
    const got = await cli('steer', '--model', dir, '--ids', '1,5', '--hook', args.hook, '--positive-ids', '1,5,9;1,6', '--negative-ids', '1,40,41,42', '--coeff', '40', '--max-new-tokens', '6');
    const vector = await explore.steeringVector(m.id, args);
    got.vector.forEach((v: number, i: number) => expect(v).toBeCloseTo(vector[i], 5));
    const want = await explore.steer(m.id, { ids: args.ids, hook: args.hook, vector, coeff: 40, maxNewTokens: 6 });
    expect(got.unsteered.ids).toEqual(want.unsteered.ids);
    expect(got.steered.ids).toEqual(want.steered.ids);
    expect(got.steered.ids).not.toEqual(got.unsteered.ids);
    // The same vector from a file, as the page saves it (.npy names no hook; JSON does).
    const tmp = mkdtempSync(join(tmpdir(), 'latentlab-vec-'));
    writeFileSync(join(tmp, 'v.npy'), toNpy(Float32Array.from(got.vector)));
    writeFileSync(join(tmp, 'v.json'), JSON.stringify({ hook: args.hook, vector: got.vector }));
    const fromNpy = await cli('steer', '--model', dir, '--ids', '1,5', '--hook', args.hook, '--vector', join(tmp, 'v.npy'), '--coeff', '40', '--max-new-tokens', '6');
    expect(fromNpy.steered.ids).toEqual(got.steered.ids);
    const fromJson = await cli('steer', '--model', dir, '--ids', '1,5', '--vector', join(tmp, 'v.json'), '--coeff', '40', '--max-new-tokens', '6');
    expect([fromJson.hook, fromJson.steered.ids]).toEqual([args.hook, got.steered.ids]);
    rmSync(tmp, { recursive: true, force: true });
  });
});

describe('on toy-s (text, the page\'s examples)', () => {
  let m: LoadedModel;
  beforeAll(async () => {
    m = await api.loadModel({ kind: 'local', label: 'toy-s', files: blobs(TOY_S) });
  });

  test('the examples offered are in the vocabulary: no <unk>, same-length prompts, one-token answers', async () => {
    const ex = await explore.examples(m.id, {});
    // The first generic example asks for "capital", which the toy world has no word for.
    expect(ex.patching).toEqual(PATCHING[1]);
    expect(ex.steering).toEqual(STEERING[1]);
    expect(ex.prompt).not.toBeNull();
    const p = ex.patching!;
    const tok = async (t: string) => api.tokenize(m.id, t, { addSpecialTokens: false });
    for (const text of [p.clean, p.corrupt, p.answer, p.wrong, ...ex.steering!.positive, ...ex.steering!.negative, ex.steering!.prompt, ex.prompt!]) {
      expect((await tok(text)).tokens.join(''), text).not.toContain('<unk>');
    }
    expect((await tok(p.clean)).ids).toHaveLength((await tok(p.corrupt)).ids.length);
    expect((await tok(p.answer)).ids).toHaveLength(1);
    // The old default really was out of the vocabulary: the check is not vacuous.
    expect((await tok('Paris is the capital of France')).tokens.join('')).toContain('<unk>');
  });

  test('patch on the example, given as text, equals the page\'s sweep, and recovers 1 at the final stream', async () => {
    const p = PATCHING[1];
    const got = await cli('patch', '--model', TOY_S, '--clean', p.clean, '--corrupt', p.corrupt, '--answer', p.answer, '--wrong', p.wrong, '--sweep', 'resid');
    const ids = async (t: string) => (await api.tokenize(m.id, t)).ids;
    const one = async (t: string) => (await api.tokenize(m.id, t, { addSpecialTokens: false })).ids[0];
    const want = await explore.patch(m.id, { clean: await ids(p.clean), corrupt: await ids(p.corrupt), answer: await one(p.answer), wrong: await one(p.wrong), heads: false });
    got.resid.values.forEach((v: number, i: number) => expect(v).toBeCloseTo(values(want.resid)![i], 4));
    const T = got.resid.cols;
    expect(got.resid.values[(got.resid.rows - 1) * T + T - 1]).toBeCloseTo(1, 4);
  });

  test('lens and steer take text', async () => {
    const lens = await cli('lens', '--model', TOY_S, '--text', 'Paris is in', '--k', '2');
    expect(lens.top.at(-1).at(-1)).toHaveLength(2);
    const s = STEERING[1];
    const steer = await cli('steer', '--model', TOY_S, '--text', s.prompt, '--hook', 'blocks.0.hook_resid_post', '--positive', s.positive.join('|'), '--negative', s.negative.join('|'), '--coeff', '0', '--max-new-tokens', '4');
    expect(steer.steered.ids).toEqual(steer.unsteered.ids);
    expect(typeof steer.steered.text).toBe('string');
  });
});
