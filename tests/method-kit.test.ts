// The method kit (src/methods/kit, src/methods/list.ts): a tiny example method (tests/fixtures/example-method) added
// with one folder and one list entry is a working worker call (with progress and cancellation), a CLI command and a
// page, with nothing else edited.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { nodeGpu } from '../src/gpu/node';
import { createEngineApi } from '../src/workers/engine-api';
import type { EngineApi, MethodProgress } from '../src/workers/client';
import { methodClient } from '../src/workers/method-client';
import { METHODS, type MethodEntry } from '../src/methods/list';
import { genericUsage, methodCommand } from '../src/cli/methods';
import { methodPages, PAGES } from '../src/ui/pages/registry';
import { writeTinyModel } from './fixtures/tiny-models';
import type example from './fixtures/example-method/method';

const EXAMPLE: MethodEntry = {
  id: 'example', title: 'Example', paper: 'none', blurb: 'The most likely next token', cli: 'example', runKinds: [],
  load: async () => (await import('./fixtures/example-method/method')).default,
};
const methods = [...METHODS, EXAMPLE];
const dir = writeTinyModel('llama-gqa');
const ids = [1, 5, 9, 2];
let api: EngineApi;
let modelId: string;

beforeAll(async () => {
  api = createEngineApi(() => nodeGpu(), { methods });
  const files = Object.fromEntries(['config.json', 'model.safetensors'].map((f) => [f, new Blob([readFileSync(join(dir, f))])]));
  modelId = (await api.loadModel({ kind: 'local', label: 'tiny', files })).id;
});
afterAll(() => api?.dispose(modelId));

test('worker call: the example runs on the loaded model, reports progress, and the answer is the forward\'s', async () => {
  const seen: MethodProgress[] = [];
  const out = await api.method('example', 'argmax', modelId, { ids }, (p) => void seen.push(p));
  const { logits } = await api.forward(modelId, ids);
  expect(out).toEqual({ id: logits.indexOf(Math.max(...logits)) });
  expect(seen).toEqual([{ stage: 'forward', done: 1, total: 1 }]);
  // The engine's own calls through the context: greedy generation picks the same token.
  expect(await api.method('example', 'next', modelId, { ids })).toEqual(out);
  // Typed through methodClient, as a page calls it.
  expect(await methodClient<typeof example>(api, 'example').argmax(modelId, { ids })).toEqual(out);
  await expect(api.method('example', 'nope', modelId, {})).rejects.toThrow(/method example has no call "nope" \(calls: argmax, next, wait\)/);
  await expect(api.method('nope', 'argmax', modelId, {})).rejects.toThrow(/no method "nope"/);
  await expect(api.method('example', 'argmax', null, { ids })).rejects.toThrow(/example needs a loaded model/);
  await expect(api.method('example', 'argmax', modelId, { ids: [1, 10_000] })).rejects.toThrow(/token id 10000 is outside the vocabulary/);
});

test('cancellation: cancelMethod aborts the call\'s signal', async () => {
  const waiting = api.method('example', 'wait', modelId, {});
  await api.cancelMethod('example', modelId);
  await expect(waiting).rejects.toThrow(/wait cancelled/);
});

test('CLI: `latentlab example argmax --model DIR` runs the same call', async () => {
  const gpu = await nodeGpu();
  const viaWorker = await api.method('example', 'argmax', modelId, { ids });
  expect(await methodCommand(EXAMPLE, ['argmax'], { model: dir, request: JSON.stringify({ ids }), quiet: true }, gpu)).toEqual(viaWorker);
  expect(await methodCommand(EXAMPLE, ['next'], { model: dir, request: JSON.stringify({ ids }), quiet: true }, gpu)).toEqual(viaWorker);
  await expect(methodCommand(EXAMPLE, ['nope'], { model: dir }, gpu)).rejects.toThrow(/usage: latentlab example <argmax\|next\|wait>/);
  await expect(methodCommand(EXAMPLE, ['argmax'], { model: dir, request: '{' }, gpu)).rejects.toThrow(/--request is not JSON/);
  // `latentlab` with no command lists it; the methods with flags of their own keep their lines.
  expect(genericUsage(methods)).toBe('\n  example <call> [--model DIR] [--request JSON | --flag value ...] --json   Example (src/methods/example/method.ts)');
});

test('page: a method whose folder has Page.svelte gets a page entry from its list line', async () => {
  const page = { default: (() => null) as never };
  const pages = methodPages([EXAMPLE], { './example/Page.svelte': async () => page });
  expect(pages.map(({ id, title, blurb }) => ({ id, title, blurb }))).toEqual([{ id: 'example', title: 'Example', blurb: 'The most likely next token' }]);
  expect(await pages[0].load()).toBe(page);
  expect(methodPages([EXAMPLE], {})).toEqual([]);
  // The lab's own methods find their pages by the same convention (Explore and Train are the registry's own).
  const withPage = METHODS.filter((m) => existsSync(join('src/ui/pages', m.id, 'Page.svelte'))).map((m) => m.id);
  expect(withPage).toEqual(expect.arrayContaining(['market-entry', 'prop-probes', 'latentqa']));
  expect(PAGES.map((p) => p.id)).toEqual(['explore', 'train', ...withPage]);
});
