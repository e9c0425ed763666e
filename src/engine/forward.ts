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
  /** Several sequences in one call (engine/batch.ts): which keys each token attends to, and where it is cached. */
  batch?: BatchLayout;
  /** Seed of LoRA dropout's masks; dropout acts only in a taped forward given one (training). */
  dropoutSeed?: number;
  /** With a tape: recompute each block's forward in its backward instead of keeping its activations. */
  recompute?: boolean;
}

/**
 * Tokens of several sequences in one forward: each attends to its own key rows only. Without a cache the keys
 * are the call's own tokens (packed sequences); with one they are cache rows, and token t is written to rows[t].
 * Positions must be given (ForwardOptions.positions).
 */
export interface BatchLayout {
  /** [T × 2]: the first and last key row of each token (the last is the token's own row). */
  spans: number[];
  /** With a cache: the cache row each token is written to. */
  rows?: number[];
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
  opts.cache?.commit(out.positions, opts.batch?.rows);
  return { logits: logits ? await logits : null, cache: await hooks.results(), dispatches };
}

/** Forward, then choose the next token on the GPU (only its id is read back). `u` is a uniform draw in [0, 1). */
export async function forwardNext(m: ModelParts, ids: number[], opts: ForwardOptions, s: SamplingOptions, u: number): Promise<number> {
  checkSampling(s);
  const pass = new Pass(m.rt);
  const hooks = new HookSession(m.cfg, opts.hooks ?? [], pass, ids.length, opts.cache?.length ?? 0, null);
  const out = record(m, pass, hooks, ids, { ...opts, logits: 'last' }, null);
  const V = m.cfg.vocab;
  let logits = out.logits!.buf;
  if (out.logits!.rows > 1) {
    // A 'logits' hook made the forward keep every row: the choice is made from the last.
    logits = pass.scratchBuffer(V * 4);
    pass.copy(out.logits!.buf, (out.logits!.rows - 1) * V * 4, logits, 0, V * 4);
  }
  const read = sampleRows(pass, V, logits, s, [u]);
  await pass.submit();
  opts.cache?.commit(out.positions);
  return sampledToken(new Uint32Array((await read).buffer)[0], m.cfg.vocab);
}

/** Record the choice of the next token of each row of `logits` (one uniform draw per row); resolves to the ids' bits. */
export function sampleRows(pass: Pass, V: number, logits: GPUBuffer, s: SamplingOptions, us: number[]): Promise<Float32Array> {
  const ids = pass.scratchBuffer(us.length * 4);
  const draws = pass.scratchBuffer(us.length * 4);
  pass.rt.write(draws, Float32Array.from(us));
  const temperature = s.temperature ?? 0;
  op.sampleTokens(pass, logits, ids, V, us.length, { greedy: temperature === 0, temperature, topK: s.topK ?? 0, topP: s.topP ?? 1 }, draws);
  return pass.read(ids, us.length * 4);
}

export interface Recorded {
  /** The logits buffer ([rows, vocab]), unless logits are 'none'. */
  logits: { buf: GPUBuffer; rows: number } | null;
  /** Position ids of the new tokens (for the KV cache, once the pass has run). */
  positions: number[];
  /** ln_final's output [T, D], from which logitsOf projects any rows. */
  final: GPUBuffer;
  /** The layers the forward ran through (untaped projections reuse their LoRA adapter). */
  layers: Layers;
}

/** Logits [M, V] of rows row0 .. row0 + M of ln_final's output `final`. */
export function logitsOf(m: ModelParts, L: Layers, final: GPUBuffer, row0: number, M: number): GPUBuffer {
  const logits = L.pass.scratchBuffer(M * m.cfg.vocab * 4);
  const lmHead = { w: m.w.lmHead, b: null, out: m.cfg.vocab, in: m.cfg.hidden };
  L.linear({ A: final, aRow0: row0, M, w: lmHead, affine: m.w.lnFinal, C: logits, modules: moduleSlices(m.cfg, 'lm_head') }, m.cfg.nLayers);
  return logits;
}

/** Record the forward into `pass`. */
export function record(m: ModelParts, pass: Pass, hooks: HookSession, ids: number[], opts: ForwardOptions, tape: Tape | null): Recorded {
  const { rt, cfg, w } = m;
  checkIds(cfg, ids);
  const kv = opts.cache;
  const T = ids.length;
  const batch = opts.batch;
  if (batch) checkBatch(batch, T, kv, opts.positions, tape);
  // A batch addresses its cache by row (batch.rows), so it has no 'past'.
  const past = batch ? 0 : (kv?.length ?? 0);
  if (kv && !batch && past + T > kv.capacity) throw new Error(`KV cache holds ${kv.capacity} positions; ${past + T} needed`);
  const positions = opts.positions ?? Array.from({ length: T }, (_, t) => past + t);
  if (positions.length !== T || positions.some((p) => !Number.isInteger(p) || p < 0)) {
    throw new Error(`positions must be ${T} non-negative integers (one per token), got ${JSON.stringify(opts.positions)}`);
  }
  const maxPos = Math.max(...positions) + 1;
  if (cfg.arch === 'gpt2' && maxPos > cfg.maxPositions) throw new Error(`GPT-2 has ${cfg.maxPositions} positions; position ${maxPos - 1} requested`);
  // Position id of every key row: the cache's rows, then this call's tokens (or, in a cached batch, at their rows).
  let keyPositions = [...(kv?.positions ?? []), ...positions];
  if (batch && kv) {
    keyPositions = kv.positions.slice();
    batch.rows!.forEach((r, t) => {
      while (keyPositions.length <= r) keyPositions.push(0);
      keyPositions[r] = positions[t];
    });
  }
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
  const ranges = batch ? upload(Uint32Array.from(batch.spans)) : undefined;
  const cacheRows = batch?.rows ? upload(Uint32Array.from(batch.rows)) : undefined;

  // Embeddings (their tables get a gradient only when full fine-tuning trains them).
  const embed = buf(T * D);
  L.gather(ids, upload(Uint32Array.from(ids)), w.embed, embed, cfg.vocab);
  hooks.at('hook_embed', rows(embed, D));
  let resid = embed;
  if (w.posEmbed) {
    const pos = buf(T * D);
    L.gather(positions, upload(Uint32Array.from(positions)), w.posEmbed, pos, cfg.maxPositions);
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
      op.kvAppend(pass, qkv, kv.k[i], kv.v[i], T, kvDim, qkvDim, qDim, qDim + kvDim, past, cacheRows);
      k = { buf: kv.k[i], stride: kvDim, offset: 0 };
      v = { buf: kv.v[i], stride: kvDim, offset: 0 };
    }
    const z = buf(T * qDim);
    const att: op.AttentionArgs = {
      T, past, nHeads: H, nKvHeads: cfg.nKvHeads, headDim: dh,
      q: { buf: qkv, stride: qkvDim, offset: 0 }, k, v, rope, posIds, Z: z, ranges,
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
  if (mode === 'none') return { logits: null, positions, final: lnf, layers: L };
  const M = mode === 'all' ? T : 1;
  const logits = logitsOf(m, L, lnf, T - M, M);
  if (mode === 'all') hooks.at('logits', rows(logits, cfg.vocab));
  return { logits: { buf: logits, rows: M }, positions, final: lnf, layers: L };
}

function checkBatch(b: BatchLayout, T: number, kv: KVCache | undefined, positions: number[] | undefined, tape: Tape | null): void {
  if (tape) throw new Error('a batched forward does not record a backward');
  if (!positions) throw new Error('a batched forward needs the position of every token');
  if (b.spans.length !== 2 * T) throw new Error(`a batch of ${T} tokens needs ${2 * T} span bounds, got ${b.spans.length}`);
  if (!!kv !== !!b.rows) throw new Error('a batched forward gives cache rows exactly when it has a cache');
  if (b.rows && b.rows.length !== T) throw new Error(`a batch of ${T} tokens needs ${T} cache rows, got ${b.rows.length}`);
  const keys = kv ? kv.capacity : T;
  for (let t = 0; t < T; t++) {
    const [first, last] = [b.spans[2 * t], b.spans[2 * t + 1]];
    const own = b.rows ? b.rows[t] : t;
    if (!(Number.isInteger(first) && first >= 0 && first <= last && last === own && own < keys)) {
      throw new Error(`batch token ${t}: keys ${first}..${last} must end at its own row ${own} (< ${keys})`);
    }
  }
}
