// One forward pass of a GPT-2 / Llama / Qwen2 model, recorded into a single command encoder.
// Reads top to bottom in the order the math happens; every named activation passes through
// hooks.at() as soon as it exists. Fused kernels keep both their terms hookable: the residual
// matmuls write the branch output and the new residual (unless a hook edits the branch, when the
// sum is rebuilt after the edit).
// With a tape, each layer also records its backward (layers.ts); with a LoRA adapter, each
// targeted module adds its low-rank delta.

import { Pass, type Runtime } from '../gpu/runtime';
import * as op from './ops';
import type { ModelConfig } from './config';
import type { HookSpec } from './hooks';
import { HookSession, type ActView } from './hook-session';
import type { KVCache } from './kv-cache';
import { Layers } from './layers';
import { moduleSlices, type LoraAdapter } from './lora';
import type { RopeTable } from './rope';
import type { Tape } from './tape';
import type { Weights } from './weights';
import { checkSampling, sampledToken, type SamplingOptions } from './sampler';

export interface ForwardOptions {
  hooks?: HookSpec[];
  /** 'all' rows [T, V] (default), only the 'last' row [V], or 'none'. A 'logits' hook implies 'all'. */
  logits?: 'all' | 'last' | 'none';
  /** Attend over and append to this cache (generation). */
  cache?: KVCache;
  /**
   * Rotary / learned position id of each new token (default: its index, counting cached tokens). Lets a
   * method place tokens at the positions they had in another context (LatentQA's patched activations).
   */
  positions?: number[];
  lora?: LoraAdapter | null;
  /** Seed of LoRA dropout's masks; dropout acts only in a taped forward given one (training). */
  dropoutSeed?: number;
  /** With a tape: recompute each block's forward in its backward instead of keeping its activations. */
  recompute?: boolean;
}

export interface ForwardResult {
  logits: Float32Array | null;
  /** Activations of the 'read' hooks (and gradients of the 'grad' hooks), by hook name. */
  cache: Record<string, Float32Array>;
  /** Dispatches recorded, for the benchmark. */
  dispatches: number;
}

export interface ModelParts {
  rt: Runtime;
  cfg: ModelConfig;
  w: Weights;
  rope: RopeTable | null;
}

export function checkIds(cfg: ModelConfig, ids: number[]): void {
  if (!Array.isArray(ids) || ids.length === 0) throw new Error('forward needs at least one token id');
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id >= cfg.vocab) throw new Error(`token id ${id} is outside the vocabulary 0..${cfg.vocab - 1}`);
  }
}

export async function forward(m: ModelParts, ids: number[], opts: ForwardOptions = {}): Promise<ForwardResult> {
  const pass = new Pass(m.rt);
  const hooks = new HookSession(m.cfg, opts.hooks ?? [], pass, ids.length, opts.cache?.length ?? 0, null);
  const out = record(m, pass, hooks, ids, opts, null);
  const logits = out.logits ? pass.read(out.logits.buf, out.logits.rows * m.cfg.vocab * 4) : null;
  const dispatches = pass.dispatches;
  await pass.submit();
  opts.cache?.commit(out.positions);
  return { logits: logits ? await logits : null, cache: await hooks.results(), dispatches };
}

/** Forward, then choose the next token on the GPU (only its id is read back). `u` is a uniform draw in [0, 1). */
export async function forwardNext(m: ModelParts, ids: number[], opts: ForwardOptions, s: SamplingOptions, u: number): Promise<number> {
  checkSampling(s);
  const pass = new Pass(m.rt);
  const hooks = new HookSession(m.cfg, opts.hooks ?? [], pass, ids.length, opts.cache?.length ?? 0, null);
  const out = record(m, pass, hooks, ids, { ...opts, logits: 'last' }, null);
  const id = pass.scratchBuffer(16);
  const temperature = s.temperature ?? 0;
  op.sampleToken(pass, out.logits!.buf, id, m.cfg.vocab, { greedy: temperature === 0, temperature, topK: s.topK ?? 0, topP: s.topP ?? 1, u });
  const read = pass.read(id, 4);
  await pass.submit();
  opts.cache?.commit(out.positions);
  return sampledToken(new Uint32Array((await read).buffer)[0], m.cfg.vocab);
}

export interface Recorded {
  /** The logits buffer ([rows, vocab]), unless logits are 'none'. */
  logits: { buf: GPUBuffer; rows: number } | null;
  /** Position ids of the new tokens (for the KV cache, once the pass has run). */
  positions: number[];
}

/** Record the forward into `pass`. */
export function record(m: ModelParts, pass: Pass, hooks: HookSession, ids: number[], opts: ForwardOptions, tape: Tape | null): Recorded {
  const { rt, cfg, w } = m;
  checkIds(cfg, ids);
  const kv = opts.cache;
  const T = ids.length;
  const past = kv?.length ?? 0;
  if (kv && past + T > kv.capacity) throw new Error(`KV cache holds ${kv.capacity} positions; ${past + T} needed`);
  const positions = opts.positions ?? Array.from({ length: T }, (_, t) => past + t);
  if (positions.length !== T || positions.some((p) => !Number.isInteger(p) || p < 0)) {
    throw new Error(`positions must be ${T} non-negative integers (one per token), got ${JSON.stringify(opts.positions)}`);
  }
  const maxPos = Math.max(...positions) + 1;
  if (cfg.arch === 'gpt2' && maxPos > cfg.maxPositions) throw new Error(`GPT-2 has ${cfg.maxPositions} positions; position ${maxPos - 1} requested`);
  const keyPositions = [...(kv?.positions ?? []), ...positions];
  const rope = m.rope?.covering(Math.max(maxPos, ...keyPositions.map((p) => p + 1))) ?? null;
  const L = new Layers(pass, cfg, tape, opts.lora ?? null, tape ? (opts.dropoutSeed ?? null) : null);

  const buf = (floats: number) => pass.scratchBuffer(floats * 4);
  const upload = (data: Uint32Array) => {
    const b = pass.scratchBuffer(data.byteLength);
    rt.write(b, data);
    return b;
  };
  const rows = (b: GPUBuffer, stride: number, offset = 0): ActView => ({ buf: b, stride, offset });
  const D = cfg.hidden;
  const I = cfg.intermediate;
  const H = cfg.nHeads;
  const dh = cfg.headDim;
  const qDim = H * dh;
  const kvDim = cfg.nKvHeads * dh;
  const qkvDim = qDim + 2 * kvDim;
  const upDim = cfg.gatedMlp ? 2 * I : I;
  const posIds = upload(Uint32Array.from(keyPositions));

  // Embeddings (their tables are not trained: gradients stop at hook_embed / hook_pos_embed).
  const embed = buf(T * D);
  op.gather(pass, upload(Uint32Array.from(ids)), w.embed, embed, T, D, cfg.vocab);
  hooks.at('hook_embed', rows(embed, D));
  let resid = embed;
  if (w.posEmbed) {
    const pos = buf(T * D);
    op.gather(pass, upload(Uint32Array.from(positions)), w.posEmbed, pos, T, D, cfg.maxPositions);
    hooks.at('hook_pos_embed', rows(pos, D));
    resid = buf(T * D);
    L.add(embed, pos, resid, T * D, -1);
  }

  /** Block i from its input `resid` to its output `out`, through the layers of `L`. */
  const block = (i: number, resid: GPUBuffer, out: GPUBuffer, L: Layers) => {
    const b = w.blocks[i];
    const h = (name: string) => `blocks.${i}.${name}`;
    hooks.at(h('hook_resid_pre'), rows(resid, D));

    // Attention.
    const ln1 = buf(T * D);
    L.normalize(resid, ln1, T, i);
    hooks.at(h('ln1.hook_normalized'), rows(ln1, D));
    const qkv = buf(T * qkvDim);
    L.linear({ A: ln1, M: T, w: b.qkv, affine: b.ln1, C: qkv, modules: moduleSlices(cfg, 'qkv', i) }, i);
    hooks.at(h('attn.hook_q'), rows(qkv, qkvDim, 0));
    hooks.at(h('attn.hook_k'), rows(qkv, qkvDim, qDim));
    hooks.at(h('attn.hook_v'), rows(qkv, qkvDim, qDim + kvDim));
    let k = { buf: qkv, stride: qkvDim, offset: qDim };
    let v = { buf: qkv, stride: qkvDim, offset: qDim + kvDim };
    if (kv) {
      op.kvAppend(pass, qkv, kv.k[i], kv.v[i], T, kvDim, qkvDim, qDim, qDim + kvDim, past);
      k = { buf: kv.k[i], stride: kvDim, offset: 0 };
      v = { buf: kv.v[i], stride: kvDim, offset: 0 };
    }
    const z = buf(T * qDim);
    const att: op.AttentionArgs = {
      T, past, nHeads: H, nKvHeads: cfg.nKvHeads, headDim: dh,
      q: { buf: qkv, stride: qkvDim, offset: 0 }, k, v, rope, posIds, Z: z,
    };
    const scoresName = h('attn.hook_attn_scores');
    const patternName = h('attn.hook_pattern');
    if (hooks.has(scoresName) || hooks.has(patternName)) {
      if (tape && (hooks.edits(scoresName) || hooks.edits(patternName))) throw new Error('gradients through edited attention scores or patterns are not supported');
      const mapSize = H * T * (past + T);
      att.maps = { S: buf(mapSize), P: buf(mapSize) };
      const map = (x: GPUBuffer) => rows(x, 0);
      if (hooks.edits(scoresName) || hooks.edits(patternName)) {
        // An edit between the steps: run them separately.
        op.attention(pass, att, 'scores');
        hooks.at(scoresName, map(att.maps.S));
        op.attention(pass, att, 'softmax_rows');
        hooks.at(patternName, map(att.maps.P));
        op.attention(pass, att, 'attend_pattern');
      } else {
        L.attention(att, qkvDim, i);
        hooks.at(scoresName, map(att.maps.S));
        hooks.at(patternName, map(att.maps.P));
      }
    } else {
      L.attention(att, qkvDim, i);
    }
    hooks.at(h('attn.hook_z'), rows(z, qDim));
    const attnOut = buf(T * D);
    const mid = buf(T * D);
    // An edited (or differentiated) branch output cannot use the fused residual: the sum is rebuilt after the hook.
    const editAttn = hooks.separate(h('hook_attn_out'));
    L.linear({ A: z, M: T, w: b.o, C: attnOut, residual: editAttn ? undefined : { res: resid, R: mid }, modules: moduleSlices(cfg, 'o', i) }, i);
    hooks.at(h('hook_attn_out'), rows(attnOut, D));
    if (editAttn) L.add(resid, attnOut, mid, T * D, i);
    hooks.at(h('hook_resid_mid'), rows(mid, D));

    // MLP.
    const ln2 = buf(T * D);
    L.normalize(mid, ln2, T, i);
    hooks.at(h('ln2.hook_normalized'), rows(ln2, D));
    const up = buf(T * upDim);
    L.linear({ A: ln2, M: T, w: b.up, affine: b.ln2, C: up, modules: moduleSlices(cfg, 'up', i) }, i);
    hooks.at(h('mlp.hook_pre'), rows(up, upDim, 0));
    if (cfg.gatedMlp) hooks.at(h('mlp.hook_pre_linear'), rows(up, upDim, I));
    const post = buf(T * I);
    L.activate(up, post, T, i);
    hooks.at(h('mlp.hook_post'), rows(post, I));
    const mlpOut = buf(T * D);
    const editMlp = hooks.separate(h('hook_mlp_out'));
    L.linear({ A: post, M: T, w: b.down, C: mlpOut, residual: editMlp ? undefined : { res: mid, R: out }, modules: moduleSlices(cfg, 'down', i) }, i);
    hooks.at(h('hook_mlp_out'), rows(mlpOut, D));
    if (editMlp) L.add(mid, mlpOut, out, T * D, i);
    hooks.at(h('hook_resid_post'), rows(out, D));
  };

  // Activation recomputation keeps only a block's input: its intermediates are recycled right after the
  // forward, and its backward first records the block's forward again (same kernels, same values).
  // Blocks with hooks are kept whole (their reads and edits happen once).
  const recompute = (i: number) => !!tape && !!opts.recompute && i >= tape.fromLayer && !hooks.inBlock(i);
  const untaped = new Layers(pass, cfg, null, opts.lora ?? null, L.dropoutSeed);
  for (let i = 0; i < cfg.nLayers; i++) {
    const input = resid;
    const out = buf(T * D);
    if (recompute(i)) {
      pass.release(pass.recycling(() => block(i, input, out, untaped)));
      const t = tape!;
      t.record(() => {
        const dOut = t.grad(out);
        const taken = pass.recycling(() => t.replay(() => block(i, input, out, L)));
        const dIn = t.grad(input); // may be dOut itself, passed down the residual stream
        const dead = [...taken, dOut].filter((x) => x !== dIn);
        t.forget([...dead, out]);
        pass.release(dead);
      });
    } else block(i, input, out, L);
    resid = out;
  }

  const lnf = buf(T * D);
  L.normalize(resid, lnf, T, cfg.nLayers);
  hooks.at('ln_final.hook_normalized', rows(lnf, D));

  const mode = hooks.has('logits') || tape ? 'all' : (opts.logits ?? 'all');
  if (mode === 'none') return { logits: null, positions };
  const M = mode === 'all' ? T : 1;
  const logits = buf(M * cfg.vocab);
  const lmHead = { w: w.lmHead, b: null, out: cfg.vocab, in: D };
  L.linear({ A: lnf, aRow0: T - M, M, w: lmHead, affine: w.lnFinal, C: logits, modules: moduleSlices(cfg, 'lm_head') }, cfg.nLayers);
  if (mode === 'all') hooks.at('logits', rows(logits, cfg.vocab));
  return { logits: { buf: logits, rows: M }, positions };
}
