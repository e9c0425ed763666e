// `latentlab <command> [--flags]`: prints one JSON object on stdout; the adapter and errors go to stderr.
import { describeAdapter } from '../gpu/device';
import { closeGpu, nodeGpu } from '../gpu/node';
import { parseArgs } from './args';
import { cacheCommand, generateCommand, loadModel, logitsCommand } from './engine-commands';

const USAGE = `usage: latentlab <command> [flags]
  logits   --model DIR (--ids 1,2,3 | --text "...") --json
  generate --model DIR (--ids 1 | --text "...") [--max-new-tokens 30] [--temperature 0] [--top-k K] [--top-p P] [--seed S] [--stop ID,...] --json
  cache    --model DIR (--ids 1,2,3 | --text "...") --hooks NAME[,NAME...] --json
Output is JSON; the adapter in use is printed on stderr.`;

async function run(words: string[], args: Record<string, string | boolean>): Promise<object> {
  const cmd = words.join(' ');
  const engineCommands: Record<string, typeof logitsCommand> = {
    logits: logitsCommand,
    generate: generateCommand,
    cache: cacheCommand,
  };
  const handler = engineCommands[cmd];
  if (!handler) throw new Error(cmd ? `unknown command "${cmd}"\n${USAGE}` : USAGE);
  const gpu = await nodeGpu();
  process.stderr.write(`adapter: ${describeAdapter(gpu)}\n`);
  const loaded = await loadModel(gpu, args);
  try {
    return await handler(loaded, args);
  } finally {
    loaded.model.dispose();
  }
}

const { words, args } = parseArgs(process.argv.slice(2));
try {
  const out = await run(words, args);
  process.stdout.write(JSON.stringify(out) + '\n');
  await closeGpu();
  process.exit(0);
} catch (e) {
  process.stderr.write(`latentlab: ${(e as Error).message}\n`);
  process.exit(1);
}
