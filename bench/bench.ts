// `npm run bench`: engine figures in Node (Dawn), then the same in Chromium (what users see).
import { describeAdapter } from '../src/gpu/device';
import { closeGpu, nodeGpu } from '../src/gpu/node';
import { Model, runtimeFor } from '../src/engine/model';
import { folderFiles } from '../src/engine/files-node';
import { writeTinyModel } from '../tests/fixtures/tiny-models';
import { forwardFigures, matmulFigures, trainingFigures } from './measure';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { printFigures, STORIES } from './report';
import { chromiumFigures } from './chromium';
import { dtypeMatmulFigures, dtypeModelFigures, printDtypeFigures } from './dtypes';
import { batchFigures, printBatchFigures } from './batch';
import { fitFigures, printFitFigures } from './fit';

const gpu = await nodeGpu();
const adapter = describeAdapter(gpu);
const rt = runtimeFor(gpu);
const models: Record<string, string> = { stories260K: STORIES, 'bench-llama (4L, 256 wide)': writeTinyModel('bench-llama') };
// Training is also measured on the shipped toy model when it is there.
const toy = fileURLToPath(new URL('../public/models/toy-s', import.meta.url));
const trainModels: Record<string, string> = { stories260K: STORIES, ...(existsSync(`${toy}/config.json`) ? { 'toy-s': toy } : {}) };
const forward = [];
const batched = [];
for (const [name, dir] of Object.entries(models)) {
  const m = await Model.load(gpu, folderFiles(dir));
  forward.push(...(await forwardFigures(m, name)));
  batched.push(...(await batchFigures(m, name)));
  m.dispose();
}
const training = [];
for (const [name, dir] of Object.entries(trainModels)) {
  const m = await Model.load(gpu, folderFiles(dir));
  training.push(await trainingFigures(m, name));
  m.dispose();
}
printFigures('Node (Dawn)', adapter, await matmulFigures(rt), forward, training);
printBatchFigures('Node (Dawn)', batched);
const dtypeModels = [];
for (const [name, dir] of Object.entries(models)) dtypeModels.push(...(await dtypeModelFigures(gpu, name, () => folderFiles(dir))));
printDtypeFigures('Node (Dawn)', await dtypeMatmulFigures(rt), dtypeModels);
printFitFigures('Node (Dawn)', await fitFigures(rt));
await closeGpu();

const browser = await chromiumFigures(models, trainModels);
printFigures('Chromium', browser.adapter, browser.matmul, browser.forward, browser.training);
printDtypeFigures('Chromium', browser.dtypeMatmul, []);
process.exit(0);
