// Step 3 (decoder input): a chat turn of placeholder tokens, one per patched activation, then a fixed acknowledgement,
// the question and (in training) the answer. Activations overwrite the output of decoder block 0 at the placeholders,
// whose position ids are the ones the activations had in the target; labels cover the answer tokens only.
import type { HookSpec } from '../../engine/hooks';
import type { Example } from '../../engine/trainer';
import type { Activations } from './read';
import type { ChatCodec } from './types';

export const WRITE_HOOK = 'blocks.0.hook_resid_post';
const SLOT = '@@LATENTQA_SLOT@@';
const ANSWER = '@@LATENTQA_ANSWER@@';

export interface DecoderFormat {
  /** The placeholder token id ("?" as in the paper). */
  placeholder: number;
  /** The assistant's acknowledgement after the placeholder turn. */
  ack: string;
}

export function decoderFormat(codec: ChatCodec, ack = 'Of course .'): DecoderFormat {
  const q = codec.encode('?');
  if (!q.length) throw new Error('the tokenizer has no token for the placeholder "?"');
  return { placeholder: q[q.length - 1], ack };
}

export interface DecoderPrompt {
  ids: number[];
  positions: number[];
  /** Indices of the placeholder tokens in `ids`. */
  slots: number[];
  /** Next-token labels: the answer (and the end of its turn), -1 elsewhere. Empty when there is no answer. */
  labels: number[];
}

/** Patch mode: the activations ('patch'), zeros in their place (text-only control), or nothing at all. */
export type PatchMode = 'patch' | 'zero';

function split(text: string, marker: string): [string, string] {
  const i = text.indexOf(marker);
  if (i < 0 || text.indexOf(marker, i + 1) >= 0) throw new Error(`the chat template must render each message once (marker ${marker})`);
  return [text.slice(0, i), text.slice(i + marker.length)];
}

export function decoderPrompt(codec: ChatCodec, fmt: DecoderFormat, a: Activations, question: string, answer: string | null): DecoderPrompt {
  const k = a.positions.length;
  if (!k) throw new Error('no activations to patch');
  const msgs = [
    { role: 'user' as const, content: SLOT },
    { role: 'assistant' as const, content: fmt.ack },
    { role: 'user' as const, content: question },
    ...(answer === null ? [] : [{ role: 'assistant' as const, content: ANSWER }]),
  ];
  const [pre, rest] = split(codec.render(msgs, answer === null), SLOT);
  const head = codec.encode(pre);
  let tail: number[];
  let answerAt = -1;
  let answerLen = 0;
  if (answer === null) tail = codec.encode(rest);
  else {
    const [mid, post] = split(rest, ANSWER);
    const m = codec.encode(mid);
    const ans = codec.encode(answer);
    if (!ans.length) throw new Error(`answer "${answer}" has no tokens`);
    const p = codec.encode(post);
    answerAt = head.length + k + m.length;
    answerLen = ans.length + Math.min(1, p.length); // the answer, then the token that ends its turn
    tail = [...m, ...ans, ...p];
  }
  const ids = [...head, ...Array<number>(k).fill(fmt.placeholder), ...tail];
  const slots = Array.from({ length: k }, (_, i) => head.length + i);
  // Positions: the head counts from 0, the placeholders take the target's positions, the rest continues after them.
  const last = a.positions[k - 1];
  const positions = [...head.map((_, i) => i), ...a.positions, ...tail.map((_, i) => last + 1 + i)];
  const labels =
    answer === null ? [] : ids.map((_, t) => (t + 1 >= answerAt && t + 1 < answerAt + answerLen ? ids[t + 1] : -1));
  return { ids, positions, slots, labels };
}

/** The edit at decoder block 0: the activations written over the placeholders, or zeros there (text-only control). */
export function patchHooks(p: DecoderPrompt, a: Activations, mode: PatchMode): HookSpec[] {
  if (mode === 'zero') return [{ name: WRITE_HOOK, op: 'zero', positions: p.slots }];
  const D = a.width;
  const value = new Float32Array(p.ids.length * D);
  value.set(a.acts, p.slots[0] * D); // the slots are contiguous
  return [{ name: WRITE_HOOK, op: 'replace', value, positions: p.slots }];
}

/** A training example for the decoder: patched activations, target positions, CE on the answer only. */
export function decoderExample(codec: ChatCodec, fmt: DecoderFormat, a: Activations, question: string, answer: string, mode: PatchMode = 'patch'): Example {
  const p = decoderPrompt(codec, fmt, a, question, answer);
  return { ids: p.ids, labels: p.labels, positions: p.positions, hooks: patchHooks(p, a, mode) };
}
