// `latentlab logprobs`: for each position t ≥ max(--from, 1), log p(token_t | tokens before t) and its rank
// (0 = the most likely token), computed on the GPU (engine/logprobs.ts).
import { type Args, int } from './args';
import { inputIds, warned, type Loaded } from './engine-commands';

export async function logprobsCommand(l: Loaded, args: Args): Promise<object> {
  const ids = inputIds(l, args);
  const from = int(args, 'from', 1, 0);
  const [r] = await l.model.logprobs([ids], { from, lora: l.lora });
  return warned(l, { positions: r.positions, logprobs: r.logprobs, ranks: r.ranks });
}
