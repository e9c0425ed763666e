// Hook points: TransformerLens names for every activation, and the plain-data edits that act on them.
// A HookSpec crosses the worker boundary as JSON-like data, so it holds arrays, never GPU handles.

import type { ModelConfig } from './config';

/** Where an activation sits: rows are positions (or head × query for attention maps), columns are features. */
export interface HookShape {
  /** 'pos': [T, width] with head h owning columns h*headDim..; 'map': [heads, T, Tk] (scores, pattern). */
  layout: 'pos' | 'map';
  /** Shape as TransformerLens reports it, without the batch dimension. */
  dims: number[];
  /** Columns per head for per-head hooks (q, k, v, z); 0 when the hook has no head axis. */
  headDim: number;
}

export type HookOp =
  /** Copy the activation out (returned in the result's cache). */
  | { op: 'read' }
  /** Copy out the loss's gradient with respect to this activation (returned as "<name>.grad"; needs a backward pass). */
  | { op: 'grad' }
  /**
   * Backpropagate `value` as this activation's gradient (adds ⟨value, activation⟩ to the loss): how a gradient
   * computed in another model (LatentQA's decoder) reaches this one. Row or full, like replace.
   */
  | { op: 'seed'; value: ArrayLike<number> }
  /**
   * Overwrite with `value`: either a full activation ([T × width]) or one row ([width]) broadcast over positions.
   * Attention maps ([heads, T, Tk]) take the full map only.
   */
  | { op: 'replace'; value: ArrayLike<number> }
  /** Add coeff × vector (a [width] row, or a full activation) — steering. */
  | { op: 'add'; value: ArrayLike<number>; coeff?: number }
  /** Zero-ablation. */
  | { op: 'zero' }
  /** Mean-ablation: replace by a mean activation, given as one row [width] or a full [T × width]. */
  | { op: 'mean'; value: ArrayLike<number> };

export type HookSpec = HookOp & {
  name: string;
  /** Query positions the edit touches (default: all). Positions are absolute (they count KV-cached tokens). */
  positions?: number[];
  /** Heads the edit touches, for per-head and attention-map hooks (default: all). */
  heads?: number[];
};

const BLOCK_HOOKS = [
  'hook_resid_pre',
  'ln1.hook_normalized',
  'attn.hook_q',
  'attn.hook_k',
  'attn.hook_v',
  'attn.hook_attn_scores',
  'attn.hook_pattern',
  'attn.hook_z',
  'hook_attn_out',
  'hook_resid_mid',
  'ln2.hook_normalized',
  'mlp.hook_pre',
  'mlp.hook_pre_linear',
  'mlp.hook_post',
  'hook_mlp_out',
  'hook_resid_post',
] as const;

/** Every hook point of a model, in the order the forward pass produces them. */
export function hookNames(cfg: ModelConfig): string[] {
  const names = ['hook_embed'];
  if (cfg.arch === 'gpt2') names.push('hook_pos_embed');
  for (let i = 0; i < cfg.nLayers; i++) {
    for (const h of BLOCK_HOOKS) {
      if (h === 'mlp.hook_pre_linear' && !cfg.gatedMlp) continue;
      names.push(`blocks.${i}.${h}`);
    }
  }
  names.push('ln_final.hook_normalized', 'logits');
  return names;
}

/** Shape of a hook's activation for T new positions attending over Tk positions in all. */
export function hookShape(cfg: ModelConfig, name: string, T: number, Tk = T): HookShape {
  const m = /^blocks\.(\d+)\.(.+)$/.exec(name);
  const local = m ? m[2] : name;
  const blockLocal = (BLOCK_HOOKS as readonly string[]).includes(local);
  // A block hook needs its canonical "blocks.<i>." prefix; a model-level hook must not have one.
  if (m ? String(Number(m[1])) !== m[1] || Number(m[1]) >= cfg.nLayers || !blockLocal : blockLocal) unknownHook(cfg, name);
  const pos = (width: number, headDim = 0, heads = 0): HookShape => ({
    layout: 'pos',
    dims: headDim ? [T, heads, headDim] : [T, width],
    headDim,
  });
  switch (local) {
    case 'hook_embed':
    case 'hook_pos_embed':
      if (local === 'hook_pos_embed' && cfg.arch !== 'gpt2') unknownHook(cfg, name);
      return pos(cfg.hidden);
    case 'hook_resid_pre':
    case 'hook_resid_mid':
    case 'hook_resid_post':
    case 'hook_attn_out':
    case 'hook_mlp_out':
    case 'ln1.hook_normalized':
    case 'ln2.hook_normalized':
    case 'ln_final.hook_normalized':
      return pos(cfg.hidden);
    case 'attn.hook_q':
    case 'attn.hook_z':
      return pos(cfg.nHeads * cfg.headDim, cfg.headDim, cfg.nHeads);
    case 'attn.hook_k':
    case 'attn.hook_v':
      return pos(cfg.nKvHeads * cfg.headDim, cfg.headDim, cfg.nKvHeads);
    case 'attn.hook_attn_scores':
    case 'attn.hook_pattern':
      return { layout: 'map', dims: [cfg.nHeads, T, Tk], headDim: 0 };
    case 'mlp.hook_pre':
    case 'mlp.hook_post':
      return pos(cfg.intermediate);
    case 'mlp.hook_pre_linear':
      if (!cfg.gatedMlp) unknownHook(cfg, name);
      return pos(cfg.intermediate);
    case 'logits':
      return pos(cfg.vocab);
  }
  return unknownHook(cfg, name);
}

function unknownHook(cfg: ModelConfig, name: string): never {
  throw new Error(
    `unknown hook point "${name}" for this ${cfg.arch} model (${cfg.nLayers} layers); ` +
      `examples: hook_embed, blocks.0.hook_resid_pre, blocks.0.attn.hook_pattern, logits`,
  );
}
