// The benchmark in the browser: the same measure.ts on navigator.gpu, models fetched from /bench-models/.
import { describeAdapter, requestGpu } from '../../src/gpu/device';
import { Model, runtimeFor } from '../../src/engine/model';
import { urlFiles } from '../../src/engine/files';
import { forwardFigures, matmulFigures, trainingFigures } from '../measure';
import { dtypeMatmulFigures } from '../dtypes';

async function main() {
  const gpu = await requestGpu(navigator.gpu);
  const q = new URLSearchParams(location.search);
  const names: string[] = JSON.parse(q.get('models') ?? '[]');
  const trainNames: string[] = JSON.parse(q.get('train') ?? '[]');
  const forward = [];
  for (const [i, name] of names.entries()) {
    const m = await Model.load(gpu, urlFiles(`${location.origin}/bench-models/${i}/`));
    forward.push(...(await forwardFigures(m, name)));
    m.dispose();
  }
  const training = [];
  for (const [i, name] of trainNames.entries()) {
    const m = await Model.load(gpu, urlFiles(`${location.origin}/bench-train/${i}/`));
    training.push(await trainingFigures(m, name));
    m.dispose();
  }
  const rt = runtimeFor(gpu);
  const result = { adapter: describeAdapter(gpu), matmul: await matmulFigures(rt), forward, training, dtypeMatmul: await dtypeMatmulFigures(rt) };
  (window as unknown as { benchResult: unknown }).benchResult = result;
  document.getElementById('out')!.textContent = JSON.stringify(result, null, 2);
}
main().catch((e) => {
  (window as unknown as { benchResult: unknown }).benchResult = { error: String(e) };
});
