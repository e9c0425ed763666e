// Several sequences through one forward. They are packed end to end and each token attends only to the earlier
// tokens of its own sequence (attention.wgsl's RANGES), at its position within that sequence, so 64 prompts cost
// one forward's dispatches instead of 64 forwards'. Every other kernel works row by row and needs no change.
// What comes back is small: each prompt's last logits, the scores of chosen tokens (logprobs.wgsl: logit,
// log-probability, rank, computed on the GPU) and hook reads split per prompt.

import { Pass } from '../gpu/runtime';
import * as op from './ops';
import type { ModelConfig } from './config';
import { checkIds, logitsOf, record, type ModelParts } from './forward';
import { HookSession } from './hook-session';
import { hookShape, type HookSpec } from './hooks';
import type { Layers } from './layers';
import type { LoraAdapter } from './lora';

export interface Packed {
  ids: number[];
  positions: number[];
  /** [T × 2]: first and last key row of every token. */
  spans: number[];
  /** Row of each sequence's first token. */
  starts: number[];
}

export function pack(cfg: ModelConfig, seqs: number[][]): Packed {
  if (!Array.isArray(seqs) || seqs.length === 0) throw new Error('a batch needs at least one sequence');
  const p: Packed = { ids: [], positions: [], spans: [], starts: [] };
  seqs.forEach((s, i) => {
    if (!Array.isArray(s) || s.length === 0) throw new Error(`sequence ${i} of the batch is empty`);
    checkIds(cfg, s);
    const start = p.ids.length;
    p.starts.push(start);
    s.forEach((id, t) => {
      p.ids.push(id);
      p.positions.push(t);
      p.spans.push(start, start + t);
    });
  });
  return p;
}

/** Scores of one chosen token: its logit, log-probability and rank (0 = the most likely token). */
export interface TokenScore {
  logit: number;
  logprob: number;
  rank: number;
}

/** A packed row whose logits are scored at `targets` (the same count for every pick of a call). */
export interface Pick {
  row: number;
  targets: number[];
}

export interface BatchOptions {
  /** Reads (returned per sequence) and one-row edits that act at every position of every sequence. */
  hooks?: HookSpec[];
  lora?: LoraAdapter | null;
  /** Return each sequence's last logits [V] (default false). */
  lastLogits?: boolean;
  /** Rows to score, with the ids to score in each. */
  picks?: Pick[];
}

export interface BatchResult {
  /** Per sequence, when asked: logits at its last token. */
  last: Float32Array[] | null;
  /** Per pick: the score of each of its targets. */
  scores: TokenScore[][];
  /** Per sequence: hook reads, [its length, width] each. */
  cache: Record<string, Float32Array>[];
  dispatches: number;
}

/** Rows of logits scored per dispatch: within the device's largest binding and workgroup count. */
function chunkRows(m: ModelParts): number {
  const lim = m.rt.gpu.limits;
  const rows = Math.floor(Math.min(lim.maxStorageBufferBindingSize, lim.maxBufferSize) / (m.cfg.vocab * 4));
  if (rows < 1) throw new Error(`one row of ${m.cfg.vocab} logits exceeds the device's largest buffer`);
  return Math.min(rows, 65535); // workgroups per dimension: WebGPU's default limit
}

/** Hooks a batch can apply: reads of per-position activations, and one-row edits acting at every position. */
export function checkBatchHooks(cfg: ModelConfig, hooks: HookSpec[]): void {
  for (const s of hooks) {
    const shape = hookShape(cfg, s.name, 1);
    if (shape.layout === 'map' || s.name === 'logits') throw new Error(`hook ${s.name} is not available in a batch: run the prompt on its own`);
    if (s.positions) throw new Error(`hook ${s.name}: positions are not available in a batch (an edit acts at every position)`);
    const width = shape.dims.slice(1).reduce((a, b) => a * b, 1);
    if ('value' in s && s.value.length !== width) throw new Error(`hook ${s.name}: in a batch an edit takes one row of ${width} numbers, got ${s.value.length}`);
  }
}

export async function forwardBatch(m: ModelParts, seqs: number[][], opts: BatchOptions = {}): Promise<BatchResult> {
  const p = pack(m.cfg, seqs);
  const T = p.ids.length;
  const hooks = opts.hooks ?? [];
  checkBatchHooks(m.cfg, hooks);
  const picks = opts.picks ?? [];
  const C = picks[0]?.targets.length ?? 0;
  for (const k of picks) {
    if (!Number.isInteger(k.row) || k.row < 0 || k.row >= T) throw new Error(`scored row ${k.row} is outside the batch's ${T} tokens`);
    if (k.targets.length !== C || C === 0) throw new Error(`every scored position needs the same number (≥ 1) of token ids; got ${k.targets.length} and ${C}`);
    checkIds(m.cfg, k.targets);
  }

  const pass = new Pass(m.rt);
  const session = new HookSession(m.cfg, hooks, pass, T, 0, null);
  const out = record(m, pass, session, p.ids, { positions: p.positions, batch: { spans: p.spans }, lora: opts.lora, logits: 'none' }, null);
  const lastRows = seqs.map((s, i) => p.starts[i] + s.length - 1);
  const last = opts.lastLogits ? readRows(m, pass, out.layers, out.final, T, lastRows) : null;
  const scores = picks.length ? scoreRows(m, pass, out.layers, out.final, T, picks) : null;
  const dispatches = pass.dispatches;
  await pass.submit();

  const V = m.cfg.vocab;
  const lastData = last ? await last : null;
  const scored = scores ? await scores : null;
  if (scored) {
    for (let i = 1; i < scored.length; i += 3) {
      if (!Number.isFinite(scored[i])) throw new Error('the logits hold NaN or +Inf, so no log-probability can be given; a hook edit or the weights produced non-finite values');
    }
  }
  const reads = await session.results();
  return {
    last: lastData ? seqs.map((_, i) => lastData.slice(i * V, (i + 1) * V)) : null,
    scores: picks.map((_, k) =>
      Array.from({ length: C }, (_, c) => {
        const at = 3 * (k * C + c);
        return { logit: scored![at], logprob: scored![at + 1], rank: scored![at + 2] };
      }),
    ),
    cache: seqs.map((s, i) => {
      const own: Record<string, Float32Array> = {};
      for (const [name, data] of Object.entries(reads)) {
        const width = data.length / T;
        own[name] = data.slice(p.starts[i] * width, (p.starts[i] + s.length) * width);
      }
      return own;
    }),
    dispatches,
  };
}

/** Gather `rows` of ln_final's output [T, D] into a compact buffer. */
export function gatherRows(m: ModelParts, pass: Pass, final: GPUBuffer, T: number, rows: number[]): GPUBuffer {
  const ids = pass.scratchBuffer(rows.length * 4);
  m.rt.write(ids, Uint32Array.from(rows));
  const out = pass.scratchBuffer(rows.length * m.cfg.hidden * 4);
  op.gather(pass, ids, final, out, rows.length, m.cfg.hidden, T);
  return out;
}

/** Logits of `rows` read back ([rows, V]): a few rows only (each prompt's last). */
function readRows(m: ModelParts, pass: Pass, L: Layers, final: GPUBuffer, T: number, rows: number[]): Promise<Float32Array> {
  if (rows.length > chunkRows(m)) throw new Error(`the last logits of ${rows.length} prompts exceed the device's largest buffer: score chosen tokens instead`);
  const logits = logitsOf(m, L, gatherRows(m, pass, final, T, rows), 0, rows.length);
  return pass.read(logits, rows.length * m.cfg.vocab * 4);
}

/** [picks, C, 3] scores, the logits computed a chunk of rows at a time and dropped after scoring. */
function scoreRows(m: ModelParts, pass: Pass, L: Layers, final: GPUBuffer, T: number, picks: Pick[]): Promise<Float32Array> {
  const C = picks[0].targets.length;
  const x = gatherRows(m, pass, final, T, picks.map((k) => k.row));
  const targets = pass.scratchBuffer(picks.length * C * 4);
  m.rt.write(targets, Uint32Array.from(picks.flatMap((k) => k.targets)));
  const out = pass.scratchBuffer(picks.length * C * 3 * 4);
  const chunk = chunkRows(m);
  for (let r0 = 0; r0 < picks.length; r0 += chunk) {
    const n = Math.min(chunk, picks.length - r0);
    const logits = logitsOf(m, L, x, r0, n);
    op.scoreTokens(pass, logits, targets, out, m.cfg.vocab, C, r0, n);
    pass.release([logits]);
  }
  return pass.read(out, picks.length * C * 3 * 4);
}
