// The models shipped in public/models/: the app opens on toy-m (else toy-s) with nothing but dist/ served,
// and its next-token table matches the engine in Node. Skipped while no toy model is in the tree.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from './harness/build';
import { openApp, type App } from './harness/app';
import { shownTop, waitForAnalysis } from './harness/page';
import { nodeReference, type NodeRef } from './harness/reference';

const name = ['toy-m', 'toy-s'].find((n) => existsSync(join(REPO, 'public', 'models', n, 'config.json')));

describe.skipIf(!name)(`embedded default model (${name ?? 'none present'})`, () => {
  let app: App;
  let ref: NodeRef;
  beforeAll(async () => {
    ref = await nodeReference(join(REPO, 'public', 'models', name!));
    app = await openApp();
  });
  afterAll(async () => {
    await app?.close();
    ref?.model.dispose();
  });

  it('loads it by default and shows the same next tokens as the engine in Node', async () => {
    await app.page.getByTestId('model-status').filter({ hasText: new RegExp(`model: ${name}`) }).waitFor({ timeout: 120_000 });
    expect(await app.page.getByTestId('load-error').count()).toBe(0);
    const prompt = await app.page.getByTestId('prompt').inputValue();
    const ids = ref.tokenizer ? ref.tokenizer.encode(prompt) : [];
    await waitForAnalysis(app.page, ids);
    const shown = await shownTop(app.page);
    const want = await ref.top(ids, 5);
    expect(shown.map((r) => r.id)).toEqual(want.map((r) => r.id));
    shown.forEach((r, i) => expect(Math.abs(r.prob - want[i].prob)).toBeLessThan(1e-4));
    await app.shot(`embedded-${name}`);
  });
});
