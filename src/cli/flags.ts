// The flags each CLI command reads. main.ts refuses any other flag before the command runs, naming the closest known
// one (src/cli/args.ts), so a misspelt `--max-new-token 5` is an error instead of a silently used default.
// Commands not listed here (a method's generic form, where flags become the call's request) are not checked.

/** How --model is found and loaded (src/cli/model-source.ts, engine-commands.ts), and the output switches. */
export const MODEL_FLAGS = ['model', 'json', 'quiet', 'dtype', 'gpu-budget-mb', 'hub-url', 'token', 'revision', 'cache-dir', 'adapter', 'past-context'];

const INPUT = ['ids', 'text'];

export const COMMAND_FLAGS: Record<string, string[]> = {
  logits: [...MODEL_FLAGS, ...INPUT],
  generate: [...MODEL_FLAGS, ...INPUT, 'max-new-tokens', 'temperature', 'top-k', 'top-p', 'seed', 'stop'],
  cache: [...MODEL_FLAGS, ...INPUT, 'hooks'],
  logprobs: [...MODEL_FLAGS, ...INPUT, 'from'],
  finetune: [
    ...MODEL_FLAGS, 'ids', 'text-file', 'out', 'steps', 'lr', 'batch-size', 'seq-len', 'seed', 'checkpoint', 'checkpoint-every',
    'lora-rank', 'lora-alpha', 'lora-dropout', 'targets', 'recompute', 'optimizer', 'schedule', 'warmup', 'weight-decay',
    'max-grad-norm', 'full', 'train-weights', 'delta-out',
  ],
  lens: [...MODEL_FLAGS, ...INPUT, 'k'],
  patch: [...MODEL_FLAGS, 'clean', 'clean-ids', 'corrupt', 'corrupt-ids', 'answer', 'answer-id', 'wrong', 'wrong-id', 'sweep'],
  steer: [...MODEL_FLAGS, ...INPUT, 'hook', 'positive', 'positive-ids', 'negative', 'negative-ids', 'vector', 'coeff', 'max-new-tokens'],
  'toyworld eval': [...MODEL_FLAGS, 'family', 'n', 'seed', 'world-seed', 'style', 'inject', 'set'],
  probes: [...MODEL_FLAGS, 'set', 'template', 'n', 'seed', 'fit', 'rank', 'estimator', 'objective', 'min-entities', 'max-entities'],
  'market-entry': ['json', 'quiet', 'gamma', 'delta', 'rho', 'p', 'P', 'tau-i', 'tauI', 'tau_i', 'tau-e', 'tauE', 'tau_e', 'n-i', 'NI', 'n_i', 'seeds', 'mc', 'no-mc'],
  latentqa: [
    ...MODEL_FLAGS, 'data', 'per-control', 'stimulus', 'held-out', 'layer', 'steps', 'lr', 'rank', 'alpha', 'batch-size', 'seed', 'out',
    'decoder', 'system', 'user', 'question', 'max-new-tokens', 'n', 'rows', 'persona', 'sentiment', 'qa', 'words', 'paper-control',
    'stimuli', 'prompts', 'generations', 'qa-per-step', 'ack',
  ],
  models: ['json', 'quiet', 'cache-dir'],
};

/** The flags of the command `words` name (its first word, or its first two: `toyworld eval`), or null if unlisted. */
export function flagsOf(words: string[]): { command: string; flags: string[] } | null {
  for (const command of [words.slice(0, 2).join(' '), words[0] ?? '']) {
    if (COMMAND_FLAGS[command]) return { command, flags: COMMAND_FLAGS[command] };
  }
  return null;
}
