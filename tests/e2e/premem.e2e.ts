// The pre-memorization accuracy page in the built app: the user opens the authors' runs (../shared/data/premem)
// through the page's folder input, and the r² values and point counts it shows equal `latentlab premem analyze`'s
// for both datasets and a changed threshold; the charts draw, the JSON export carries the CLI's numbers, and a
// folder with a corrupt .npy file gives an error naming it.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp, type App } from './harness/app';
import { prememCommand } from '../../src/cli/premem';
import { writeNpy } from '../../src/methods/premem/npy';

const DATA = fileURLToPath(new URL('../../../shared/data/premem', import.meta.url));

type Out = { n_points: number; r2_premem: number; r2_train_accuracy: number; threshold: number };
const cli = (dataset: string, threshold?: number) =>
  prememCommand(['analyze'], { data: DATA, dataset, quiet: true, ...(threshold === undefined ? {} : { threshold: String(threshold) }) }) as Promise<Out>;

describe('premem page', () => {
  let app: App;
  const tmp = mkdtempSync(join(tmpdir(), 'premem-e2e-'));
  beforeAll(async () => {
    app = await openApp({ hash: '#/premem' });
  });
  afterAll(async () => {
    await app?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  const text = async (id: string) => (await app.page.getByTestId(id).textContent())!.trim();
  const ready = () => expect.poll(() => text('status'), { timeout: 150_000 }).toMatch(/^ready/);
  async function shows(expected: Out) {
    await expect.poll(() => text('n-points'), { timeout: 150_000 }).toBe(String(expected.n_points));
    expect(await text('r2-premem')).toBe(expected.r2_premem.toFixed(3));
    expect(await text('r2-train')).toBe(expected.r2_train_accuracy.toFixed(3));
  }

  it("shows the CLI's r² for GSM8K once the authors' folder is opened", async () => {
    expect(await text('status')).toBe('no folder opened');
    await app.page.getByTestId('premem-folder').setInputFiles(DATA);
    await ready();
    const want = await cli('gsm8k');
    expect(want.n_points).toBe(51);
    await shows(want);
    for (const c of ['premem', 'train', 'sweep']) expect(await app.page.getByTestId(`chart-${c}`).locator('canvas').count()).toBe(1);
    await app.shot('premem-gsm8k');
  });

  it('switches to MATH (threshold −1.7) and follows a changed threshold', async () => {
    await app.page.getByTestId('premem-dataset').selectOption('math');
    await expect.poll(() => app.page.getByTestId('premem-threshold').inputValue()).toBe('-1.7');
    await ready();
    await shows(await cli('math'));
    const input = app.page.getByTestId('premem-threshold');
    await input.fill('-2');
    await input.dispatchEvent('change');
    const want = await cli('math', -2);
    await expect.poll(() => text('r2-premem'), { timeout: 150_000 }).toBe(want.r2_premem.toFixed(3));
    await ready();
    await shows(want);
  });

  it("exports the CLI's numbers as JSON", async () => {
    const [dl] = await Promise.all([app.page.waitForEvent('download'), app.page.getByTestId('export-json').click()]);
    const got = JSON.parse(readFileSync((await dl.path())!, 'utf8')) as Out & { points: unknown[] };
    const want = await cli('math', -2);
    expect(got.threshold).toBe(-2);
    expect(got.r2_premem).toBe(want.r2_premem);
    expect(got.r2_train_accuracy).toBe(want.r2_train_accuracy);
    expect(got.points).toHaveLength(42);
    const [csv] = await Promise.all([app.page.waitForEvent('download'), app.page.getByTestId('export-points-csv').click()]);
    const lines = readFileSync((await csv.path())!, 'utf8').trim().split(/\r?\n/);
    expect(lines[0]).toBe('run,step,premem,train_accuracy,test_accuracy,memorised');
    expect(lines).toHaveLength(43);
    const [png] = await Promise.all([app.page.waitForEvent('download'), app.page.getByTestId('export-premem-png').click()]);
    expect([...readFileSync((await png.path())!).subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
  });

  it('reads runs of `latentlab premem run` (dataset toy) at the threshold given', async () => {
    // three runs × three checkpoints of 6 questions, 4 samples: accuracies and perplexities that move with training
    const dir = join(tmp, 'toy-runs');
    for (let r = 0; r < 3; r++) {
      for (let c = 1; c <= 3; c++) {
        const ck = join(dir, `toy_arith_3epochs_full_lr${r}_bs4`, `checkpoint-${c}`);
        mkdirSync(ck, { recursive: true });
        const train = Uint8Array.from({ length: 24 }, (_, i) => ((i * 7 + r * 3 + c * 5) % 10 < 3 + c + r ? 1 : 0));
        const test = Uint8Array.from({ length: 24 }, (_, i) => ((i * 5 + r + c * 3) % 10 < 2 + c ? 1 : 0));
        const ppl = Float32Array.from({ length: 6 }, (_, i) => 1 + 0.5 / (1 + c * (r + 1) + i));
        writeFileSync(join(ck, 'train_correct.npy'), writeNpy(train, [6, 4]));
        writeFileSync(join(ck, 'test_correct.npy'), writeNpy(test, [6, 4]));
        writeFileSync(join(ck, 'train_perplexities.npy'), writeNpy(ppl, [6]));
      }
    }
    await app.page.getByTestId('premem-folder').setInputFiles(dir);
    await app.page.getByTestId('premem-dataset').selectOption('toy');
    const input = app.page.getByTestId('premem-threshold');
    await input.fill('-3');
    await input.dispatchEvent('change');
    const want = (await prememCommand(['analyze'], { data: dir, dataset: 'toy', threshold: '-3', quiet: true })) as Out;
    expect(want.n_points).toBe(9);
    await expect.poll(() => app.page.getByTestId('n-points').textContent(), { timeout: 150_000 }).toBe('9');
    await expect.poll(() => text('r2-premem'), { timeout: 150_000 }).toBe(want.r2_premem.toFixed(3));
    await ready();
    await shows(want);
  });

  it('names the corrupt file of a bad folder', async () => {
    const dir = join(tmp, 'bad');
    const ck = join(dir, 'math_run', 'checkpoint-1');
    mkdirSync(ck, { recursive: true });
    writeFileSync(join(ck, 'train_correct.npy'), writeNpy(new Uint8Array(4), [2, 2]));
    writeFileSync(join(ck, 'train_perplexities.npy'), writeNpy(new Float32Array(2).fill(2), [2]));
    writeFileSync(join(ck, 'test_correct.npy'), Buffer.concat([Buffer.from([0x93]), Buffer.from('NUMPY'), Buffer.from([1, 0, 5, 0]), Buffer.from('{oops')]));
    await app.page.getByTestId('premem-dataset').selectOption('math');
    await app.page.getByTestId('premem-folder').setInputFiles(dir);
    await expect.poll(() => app.page.getByTestId('error').textContent().catch(() => ''), { timeout: 150_000 }).toMatch(/bad\/math_run\/checkpoint-1\/test_correct\.npy: corrupt \.npy header/);
    expect(app.errors.filter((e) => /premem/i.test(e))).toEqual([]);
  });
});
