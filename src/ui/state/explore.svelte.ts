// Explore page state: the prompt, its tokens, the next-token table, and a streamed greedy continuation.
import { callback, type TopToken } from '../../workers/client';
import { engine, lab, message } from './lab.svelte';

export interface ShownToken {
  id: number;
  text: string;
}

export const explore = $state({
  prompt: 'Paris is in',
  /** 'text' goes through the tokenizer; 'ids' reads comma/space-separated token ids. */
  mode: 'text' as 'text' | 'ids',
  chat: false,
  tokens: [] as ShownToken[],
  top: [] as TopToken[],
  /** Model id and input the current tokens/top table belong to. */
  shownFor: '',
  analyzing: false,
  forwardMs: 0,
  error: '',
  maxNewTokens: 24,
  generating: false,
  generated: [] as ShownToken[],
  /** A LoRA adapter applied to the Tokens view's forward and to generate (set from the Train page): its id, model id and label. */
  adapter: null as { id: string; modelId: string; label: string } | null,
});

/** The adapter's id when it belongs to the model in use. */
const adapterFor = (modelId: string) => (explore.adapter?.modelId === modelId ? explore.adapter.id : undefined);

let seq = 0;
let timer: ReturnType<typeof setTimeout> | undefined;
/** A debounced analysis is waiting: the page stays "computing" until it has run. */
let pending = false;

/** Parse "1, 2 3" into ids; throws on anything that is not a non-negative integer. */
export function parseIds(s: string): number[] {
  const parts = s.split(/[\s,]+/).filter(Boolean);
  return parts.map((p) => {
    if (!/^\d+$/.test(p)) throw new Error(`"${p}" is not a token id`);
    return Number(p);
  });
}

/** Tokens of `prompt` read the way the page's input is read (text through the tokenizer, or typed ids). */
export async function tokensOf(modelId: string, prompt: string, chat = explore.chat): Promise<ShownToken[]> {
  if (explore.mode === 'ids' || !lab.model?.hasTokenizer) {
    const ids = parseIds(prompt);
    if (ids.length === 0) return [];
    const text = await engine().tokenStrings(modelId, ids);
    return ids.map((id, i) => ({ id, text: text[i] }));
  }
  const t = await engine().tokenize(modelId, prompt, { chat });
  return t.ids.map((id, i) => ({ id, text: t.tokens[i] }));
}

export const inputIds = (modelId: string): Promise<ShownToken[]> => tokensOf(modelId, explore.prompt);

/** Tokenize and run one forward pass in the worker; results from superseded inputs are dropped. */
export async function analyze(): Promise<void> {
  const model = lab.model;
  if (!model) return;
  const mine = ++seq;
  explore.analyzing = true;
  try {
    const tokens = await inputIds(model.id);
    if (tokens.length === 0) throw new Error('the input has no tokens');
    const r = await engine().forward(
      model.id,
      tokens.map((t) => t.id),
      { top: 5, adapter: adapterFor(model.id) },
    );
    if (mine !== seq) return;
    explore.tokens = tokens;
    explore.top = r.top;
    explore.forwardMs = r.ms;
    explore.shownFor = `${model.id}:${explore.mode}:${explore.chat}:${explore.prompt}:${adapterFor(model.id) ?? ''}`;
    explore.error = '';
  } catch (e) {
    if (mine !== seq) return;
    explore.tokens = [];
    explore.top = [];
    explore.error = message(e);
  } finally {
    if (mine === seq && !pending) explore.analyzing = false;
  }
}

/** Re-analyze shortly after the user stops typing (shown as computing while it waits). */
export function scheduleAnalyze(delayMs = 250): void {
  clearTimeout(timer);
  explore.analyzing = true;
  pending = true;
  timer = setTimeout(() => {
    pending = false;
    void analyze();
  }, delayMs);
}

/** Switch between text and ids, carrying the input over: the current tokens' ids, or their decoded text. */
export async function setMode(mode: 'text' | 'ids'): Promise<void> {
  const model = lab.model;
  if (mode === explore.mode) return;
  const ids = explore.tokens.map((t) => t.id);
  if (model && ids.length && !explore.error) {
    explore.prompt = mode === 'ids' ? ids.join(' ') : await engine().decode(model.id, ids, { skipSpecialTokens: true });
  }
  explore.mode = mode;
  explore.chat = false;
  scheduleAnalyze(0);
}

/** Greedy continuation of the current input, streamed token by token. */
export async function generate(): Promise<void> {
  const model = lab.model;
  if (!model || explore.generating) return;
  explore.generating = true;
  explore.generated = [];
  explore.error = '';
  try {
    const tokens = await inputIds(model.id);
    await engine().generate(
      model.id,
      tokens.map((t) => t.id),
      { maxNewTokens: explore.maxNewTokens, temperature: 0, adapter: adapterFor(model.id) },
      callback((t: { id: number; text: string }) => {
        explore.generated.push({ id: t.id, text: t.text });
      }),
    );
  } catch (e) {
    explore.error = message(e);
  } finally {
    explore.generating = false;
  }
}
