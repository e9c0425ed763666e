// Step 2 (read): the frozen target's residual stream after a chosen layer, over the stimulus tokens only — the
// control's positions (and BOS before them) are masked out, so the decoder never sees the control's own tokens.
import type { Model } from '../../engine/model';
import type { LoraAdapter } from '../../engine/lora';
import type { ChatCodec, LqaItem } from './types';

/** Default read layer: the block whose output is the residual stream after the first half (15 of 32 for Llama-3-8B). */
export function defaultReadLayer(nLayers: number): number {
  return Math.max(0, Math.floor(nLayers / 2) - 1);
}

export const readHook = (layer: number) => `blocks.${layer}.hook_resid_post`;

export interface ReadPrompt {
  ids: number[];
  /** First stimulus position: tokens before it (BOS + control) are masked out. */
  start: number;
}

export interface Activations {
  /** [k × D] rows, one per stimulus token. */
  acts: Float32Array;
  /** Position id each row had in the target (start..T-1). */
  positions: number[];
  width: number;
}

/** Read prompt = control messages + stimulus (+ generation prompt when the stimulus ends with a user turn). */
export function readPrompt(codec: ChatCodec, item: Pick<LqaItem, 'controlMessages' | 'stimulus'>): ReadPrompt {
  const endsWithUser = item.stimulus[item.stimulus.length - 1]?.role === 'user';
  const ids = codec.encode(codec.render([...item.controlMessages, ...item.stimulus], endsWithUser));
  const control = item.controlMessages.length ? codec.encode(codec.render(item.controlMessages, false)) : [];
  // The rendered control must be a token prefix of the whole prompt; a template that renders it otherwise is refused.
  let start = 0;
  while (start < control.length && control[start] === ids[start]) start++;
  if (start < control.length) throw new Error(`the chat template does not render the control as a prefix of the read prompt (${start} of ${control.length} tokens match)`);
  // Position 0 (BOS, or the template's first token) carries nothing about the control and is always dropped.
  start = Math.max(start, 1);
  if (start >= ids.length) throw new Error('the read prompt has no stimulus tokens after the control');
  return { ids, start };
}

/** Frozen target forward (a LoRA only when steering), reading `layer`'s output at the stimulus positions. */
export async function readActivations(target: Model, p: ReadPrompt, layer: number, lora: LoraAdapter | null = null): Promise<Activations> {
  const name = readHook(layer);
  const r = await target.forward(p.ids, { hooks: [{ name, op: 'read' }], logits: 'none', lora });
  const D = target.config.hidden;
  const all = r.cache[name];
  return { acts: all.slice(p.start * D), positions: Array.from({ length: p.ids.length - p.start }, (_, i) => p.start + i), width: D };
}
