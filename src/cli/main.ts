// `latentlab <command> [--flags]`: prints one JSON object on stdout; the adapter and errors go to stderr.
import { describeAdapter } from '../gpu/device';
import { closeGpu, nodeGpu } from '../gpu/node';
import { checkFlags, closest, parseArgs } from './args';
import { flagsOf } from './flags';
import { lensCommand, patchCommand, steerCommand } from './explore';
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
  lens     --model DIR (--ids 1,2,3 | --text "...") [--k 5] --json   logit lens: top-k tokens of every layer's stream at every position
  patch    --model DIR (--clean "..." | --clean-ids 1,2) (--corrupt "..." | --corrupt-ids 1,3) (--answer TOKEN | --answer-id N)
           (--wrong TOKEN | --wrong-id N) [--sweep both|resid|heads] --json   activation patching: recovered logit difference per cell
  steer    --model DIR (--ids | --text "...") --hook blocks.L.hook_resid_pre (--positive "a|b" | --positive-ids "1,2;3")
           (--negative "c|d" | --negative-ids ...) [--coeff 4] [--max-new-tokens 16] --json   unsteered and steered continuations
           (--vector FILE: a JSON or .npy vector, as the Explore page saves them, instead of the two prompt sets)
  finetune --model DIR (--ids 1,2,... | --text-file F) [--lora-rank 8] [--lora-alpha 2R] [--targets q_proj,...] [--steps 100]
           [--lr 1e-3] [--batch-size 1] [--seq-len 64] [--seed 0] [--lora-dropout 0] [--recompute] [--checkpoint FILE] --out DIR --json
           [--optimizer adamw|sgd] [--schedule constant|linear|cosine] [--warmup 0] [--weight-decay 0] [--max-grad-norm 1]
           writes a PEFT adapter to --out; --checkpoint resumes from FILE when it exists; --recompute keeps only
           each block's input and recomputes its forward in the backward (less memory, more time)
           --full [--train-weights PATTERN,...] [--delta-out FILE.safetensors]: full fine-tuning (f32, --dtype f32) of the
           weights whose checkpoint names match (default *; e.g. layers.1.mlp.*,embed_tokens.weight); --out gets a
           Hugging Face folder, --delta-out the trained − base delta per tensor
  probes   --model DIR --set synth|paraphrase|injected [--n 20] [--seed 0] [--fit FILE] [--rank 50] --json   propositional probes
  market-entry [--gamma G] [--delta D] [--rho R] [--json]   multi-objective scaling laws and market entry
  premem analyze --data DIR --dataset gsm8k|math|toy [--threshold P] [--sweep [FROM:TO:STEP]] --json   pre-memorization accuracy vs test accuracy
  premem run --model DIR --configs LR:EPOCHS,... --out DIR [--n-train 32] [--n-test 32] [--k 4] --json   toy runs in the authors' layout
  latentqa train|read|eval|steer --model DIR ... --json   LatentQA decoders (latentlab latentqa for flags)${genericUsage(METHODS)}
  toyworld eval --model DIR --family binding|implications|persona|arithmetic|sentiment|judgement --n N --seed S --json
  models   list | rm ID[@REVISION] | clear        Hub downloads in the cache folder [--cache-dir DIR]
--model takes a folder, a .gguf file or a Hub id (owner/name[@revision]); with a Hub id also [--hub-url URL]
[--token TOKEN (or HF_TOKEN)] [--revision REV] [--cache-dir DIR (default ~/.cache/latentlab)] [--quiet].
--dtype f32|f16|q8|q4|auto (default auto: the most precise that fits --gpu-budget-mb, default 2048).
--adapter DIR applies a PEFT LoRA adapter on logits, generate and cache.
Output is one JSON object on stdout; the adapter in use, progress and errors go to stderr.
latentlab --help, latentlab <command> --help: this text (or the command's lines) on stdout.`;

/** The usage lines of one command (its line and the indented lines under it), or all of them. */
function usageOf(words: string[]): string {
  const lines = USAGE.split('\n');
  const at = words.length ? lines.findIndex((l) => l.startsWith(`  ${words[0]} `)) : -1;
  if (at < 0) return USAGE;
  let end = at + 1;
  while (end < lines.length && /^ {4,}/.test(lines[end])) end++;
  return ['usage: latentlab <command> [flags]', ...lines.slice(at, end), ...lines.slice(lines.findIndex((l) => l.startsWith('--model takes')))].join('\n');
}

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
    lens: lensCommand,
    patch: patchCommand,
    steer: steerCommand,
    finetune: finetuneCommand,
    'toyworld eval': (l, a) => toyworldCommand(a, engineScorer(l.model)),
  };
  const handler = engineCommands[cmd];
  if (!handler) {
    const near = closest(cmd, [...Object.keys(engineCommands), 'models', ...METHODS.flatMap((m) => (m.cli ? [m.cli] : []))]);
    throw new Error(cmd ? `unknown command "${cmd}"${near ? `; did you mean ${near}?` : ''}\n${USAGE}` : USAGE);
  }
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

// Stdout carries the one JSON object: whatever a library logs goes to stderr.
console.log = console.info = console.debug = (...a: unknown[]) => console.error(...a);
try {
  const { words, args } = parseArgs(process.argv.slice(2));
  if (args.help) {
    process.stdout.write(usageOf(words) + '\n');
    process.exit(0);
  }
  const declared = flagsOf(words);
  if (declared) checkFlags(declared.command, args, declared.flags);
  const out = await run(words, args);
  // A pipe takes a large output in pieces: exit only once stdout has taken all of it, or the JSON is cut short.
  await new Promise((done) => process.stdout.write(JSON.stringify(out) + '\n', done));
  await closeGpu();
  process.exit(0);
} catch (e) {
  process.stderr.write(`latentlab: ${(e as Error).message}\n`);
  process.exit(1);
}
