// Full fine-tuning's gradients not covered by train-gradients.test.ts (which checks a linear weight and a norm
// weight): token and position embeddings (a tied head's gradient lands in the embedding), biases, the final
// norm and an untied head, each against central finite differences of the float64 reference, sampled through
// the engine-buffer → checkpoint-tensor map of weight-tensors.ts (so the map is checked too).
// Tolerance as there: |engine - FD| ≤ 2e-3·max|FD over the samples| + 2e-5.
import { describe, expect, test } from 'vitest';
import { nodeGpu } from '../src/gpu/node';
import { Model } from '../src/engine/model';
import { folderFiles } from '../src/engine/files-node';
import { lossGradients, nextTokenLabels } from '../src/engine/trainer';
import { weightTensors, type WeightTensor } from '../src/engine/weight-tensors';
import { mulberry32, writeTinyModel, type TinyKind } from './fixtures/tiny-models';
import { loadRefModel, type RefModel } from './reference/reference';
import { referenceLoss } from './helpers/ref-loss';

const EPS = 1e-4;
const ids = [3, 17, 5, 42, 9, 3, 33];
const labels = nextTokenLabels(ids, 2);

/** The checkpoint tensor and its flat index holding flat index i of the engine buffer. */
function hfIndex(t: WeightTensor, i: number): { name: string; at: number } {
  let row = Math.floor(i / t.cols);
  const col = i % t.cols;
  for (const p of t.parts) {
    if (row < p.rows) return { name: p.name, at: t.transposed ? col * p.rows + row : row * t.cols + col };
    row -= p.rows;
  }
  throw new Error(`index ${i} is past ${t.name}`);
}

function bumped(ref: RefModel, name: string, at: number, e: number): RefModel {
  const tensors = new Map(ref.tensors);
  const w = Float64Array.from(ref.tensors.get(name)!);
  w[at] += e;
  tensors.set(name, w);
  return { ...ref, tensors };
}

describe.each(['gpt2', 'llama-gqa', 'llama-tied', 'llama-wide-heads'] as TinyKind[])('%s', (kind) => {
  test('embedding, bias, final-norm and head gradients match finite differences', async () => {
    const dir = writeTinyModel(kind);
    const model = await Model.load(await nodeGpu(), folderFiles(dir));
    const ref = loadRefModel(dir);
    const cfg = model.config;
    const chosen = weightTensors(cfg, model.parts.w).filter((t) => /^(embed|pos_embed|ln_final|lm_head)$|_bias$/.test(t.name));
    // At least the embedding (in llama-tied also the head) and the final norm.
    expect(chosen.length).toBeGreaterThanOrEqual(2);
    const got = await lossGradients(model.parts, { ids, labels }, [], null, chosen.map((t) => ({ name: t.name, buf: t.buf, n: t.n })));
    const rand = mulberry32(17);
    for (const t of chosen) {
      const g = got.grads[t.name];
      // Embedding rows: those of tokens (positions) used, where the gradient is not trivially zero, and one unused row.
      const rows = t.name === 'embed' ? [...new Set(ids)] : t.name === 'pos_embed' ? ids.map((_, p) => p) : null;
      const picks = Array.from({ length: 4 }, () => (rows ? rows[Math.floor(rand() * rows.length)] * t.cols + Math.floor(rand() * t.cols) : Math.floor(rand() * t.n)));
      if (t.name === 'embed') picks.push(60 * t.cols + 1);
      const fd = picks.map((i) => {
        const { name, at } = hfIndex(t, i);
        return (referenceLoss(bumped(ref, name, at, EPS), ids, labels) - referenceLoss(bumped(ref, name, at, -EPS), ids, labels)) / (2 * EPS);
      });
      const scale = Math.max(...fd.map(Math.abs));
      expect(scale, `${t.name}: finite differences all zero`).toBeGreaterThan(0);
      picks.forEach((i, k) => expect(Math.abs(g[i] - fd[k]), `${t.name}[${i}]: engine ${g[i]}, FD ${fd[k]}`).toBeLessThanOrEqual(2e-3 * scale + 2e-5));
    }
    model.dispose();
  });
});
