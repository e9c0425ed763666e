// Step 5 (read with the decoder): greedy answer to a question about patched activations. The engine's generate()
// numbers new tokens by their index, so this loop passes the shifted position ids itself.
import { forwardNext } from '../../engine/forward';
import type { Model } from '../../engine/model';
import type { LoraAdapter } from '../../engine/lora';
import { decoderPrompt, patchHooks, type DecoderFormat, type PatchMode } from './decoder';
import type { Activations } from './read';
import type { ChatCodec } from './types';

export async function answer(
  decoder: Model,
  lora: LoraAdapter | null,
  codec: ChatCodec,
  fmt: DecoderFormat,
  a: Activations,
  question: string,
  opts: { maxNewTokens?: number; mode?: PatchMode; onToken?: (ids: number[]) => void } = {},
): Promise<{ ids: number[]; text: string }> {
  const p = decoderPrompt(codec, fmt, a, question, null);
  const n = opts.maxNewTokens ?? 24;
  const stop = new Set(codec.stop);
  const cache = decoder.newCache(p.ids.length + n);
  const out: number[] = [];
  try {
    const greedy = { temperature: 0 };
    let next = p.positions[p.positions.length - 1] + 1;
    let id = await forwardNext(decoder.parts, p.ids, { cache, lora, positions: p.positions, hooks: patchHooks(p, a, opts.mode ?? 'patch') }, greedy, 0);
    while (!stop.has(id) && out.length < n) {
      out.push(id);
      opts.onToken?.(out.slice());
      if (out.length >= n) break;
      id = await forwardNext(decoder.parts, [id], { cache, lora, positions: [next++] }, greedy, 0);
    }
  } finally {
    cache.release();
  }
  return { ids: out, text: codec.decode(out) };
}

/** Answers compared as words: case, spacing and final punctuation do not count. */
export function normalizeAnswer(s: string): string {
  return s.toLowerCase().replace(/([a-z0-9])\s*([.,!?;:])/g, '$1 $2').replace(/[.!?\s]+$/g, '').replace(/\s+/g, ' ').trim();
}

export function sameAnswer(got: string, want: string): boolean {
  return normalizeAnswer(got) === normalizeAnswer(want);
}
