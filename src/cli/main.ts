// `latentlab <command> [--flags]`: prints one JSON object on stdout; the adapter and errors go to stderr.
import { describeAdapter } from '../gpu/device';
import { closeGpu, nodeGpu } from '../gpu/node';
import { parseArgs } from './args';
import { cacheCommand, generateCommand, loadModel, logitsCommand } from './engine-commands';
import { modelsCommand } from './models';
import { finetuneCommand } from './finetune';
import { genericUsage, methodCommand } from './methods';
import { METHODS } from '../methods/list';
import { toyworldCommand } from './toyworld';
import { logprobsCommand } from './logprobs';
import { engineScorer } from '../toyworld/engine-scorer';

const USAGE = `usage: latentlab <command> [flags]
  logits   --model DIR (--ids 1,2,3 | --text "...") --json
  generate --model DIR (--ids 1 | --text "...") [--max-new-tokens 30] [--temperature 0] [--top-k K] [--top-p P] [--seed S] [--stop ID,...] --json
  cache    --model DIR (--ids 1,2,3 | --text "...") --hooks NAME[,NAME...] --json
  logprobs --model DIR (--ids 1,2,3 | --text "...") [--from K] --json   log p(token_t | tokens before t) and its rank, t ≥ max(K, 1)
  finetune --model DIR (--ids 1,2,... | --text-file F) [--lora-rank 8] [--lora-alpha 2R] [--targets q_proj,...] [--steps 100]
           [--lr 1e-3] [--batch-size 1] [--seq-len 64] [--seed 0] [--lora-dropout 0] [--recompute] [--checkpoint FILE] --out DIR --json
           writes a PEFT adapter to --out; --checkpoint resumes from FILE when it exists; --recompute keeps only
           each block's input and recomputes its forward in the backward (less memory, more time)
  probes   --model DIR --set synth|paraphrase|injected [--n 20] [--seed 0] [--fit FILE] [--rank 50] --json   propositional probes
  market-entry [--gamma G] [--delta D] [--rho R] [--json]   multi-objective scaling laws and market entry
  premem analyze --data DIR --dataset gsm8k|math [--threshold P] [--sweep [FROM:TO:STEP]] --json   pre-memorization accuracy vs test accuracy
  latentqa train|read|eval|steer --model DIR ... --json   LatentQA decoders (latentlab latentqa for flags)${genericUsage(METHODS)}
  toyworld eval --model DIR --family binding|implications|persona|arithmetic|sentiment|judgement --n N --seed S --json
  models   list | rm ID[@REVISION] | clear        Hub downloads in the cache folder [--cache-dir DIR]
--model takes a folder, a .gguf file or a Hub id (owner/name[@revision]); with a Hub id also [--hub-url URL]
[--token TOKEN (or HF_TOKEN)] [--revision REV] [--cache-dir DIR (default ~/.cache/latentlab)] [--quiet].
--dtype f32|f16|q8|q4|auto (default auto: the most precise that fits --gpu-budget-mb, default 2048).
--adapter DIR applies a PEFT LoRA adapter on logits, generate and cache.
Output is JSON; the adapter in use is printed on stderr.`;

async function run(words: string[], args: Record<string, string | boolean>): Promise<object> {
  const cmd = words.join(' ');
  if (words[0] === 'models') return modelsCommand(words[1] ?? '', words.slice(2), args);
  const method = METHODS.find((m) => m.cli === words[0]);
  if (method) return methodCommand(method, words.slice(1), args, await nodeGpu());
  const engineCommands: Record<string, typeof logitsCommand> = {
    logits: logitsCommand,
    generate: generateCommand,
    cache: cacheCommand,
    logprobs: logprobsCommand,
    finetune: finetuneCommand,
    'toyworld eval': (l, a) => toyworldCommand(a, engineScorer(l.model)),
  };
  const handler = engineCommands[cmd];
  if (!handler) throw new Error(cmd ? `unknown command "${cmd}"\n${USAGE}` : USAGE);
  const gpu = await nodeGpu();
  process.stderr.write(`adapter: ${describeAdapter(gpu)}\n`);
  const loaded = await loadModel(gpu, args);
  try {
    return await handler(loaded, args);
  } finally {
    loaded.lora?.destroy();
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
