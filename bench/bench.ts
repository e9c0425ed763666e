// `npm run bench`: engine figures in Node (Dawn), then the same in Chromium (what users see).
import { describeAdapter } from '../src/gpu/device';
import { closeGpu, nodeGpu } from '../src/gpu/node';
import { Model, runtimeFor } from '../src/engine/model';
import { folderFiles } from '../src/engine/files-node';
import { writeTinyModel } from '../tests/fixtures/tiny-models';
import { forwardFigures, matmulFigures } from './measure';
import { printFigures, STORIES } from './report';
import { chromiumFigures } from './chromium';

const gpu = await nodeGpu();
const adapter = describeAdapter(gpu);
const rt = runtimeFor(gpu);
const models = { stories260K: STORIES, 'bench-llama (4L, 256 wide)': writeTinyModel('bench-llama') };
const forward = [];
for (const [name, dir] of Object.entries(models)) {
  const m = await Model.load(gpu, folderFiles(dir));
  forward.push(...(await forwardFigures(m, name)));
  m.dispose();
}
printFigures('Node (Dawn)', adapter, await matmulFigures(rt), forward);
await closeGpu();

const browser = await chromiumFigures(models);
printFigures('Chromium', browser.adapter, browser.matmul, browser.forward);
process.exit(0);
