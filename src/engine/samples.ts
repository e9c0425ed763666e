// k samples per prompt, for several prompts at once: one packed prefill of every prompt, its KV rows forked k ways
// (engine/kv-cache.ts), then every unfinished continuation decoded together, one forward per step. Each
// continuation owns a stretch of one cache's rows and attends to those only (attention.wgsl's RANGES). Each draws
// from its own seeded generator, so sample j of prompt i is exactly Model.generate(prompt i, { seed:
// sampleSeed(seed, i, j) }) and does not depend on which other samples are still running.

import { Pass } from '../gpu/runtime';
import { checkBatchHooks, gatherRows, pack } from './batch';
import { logitsOf, record, sampleRows, type ModelParts } from './forward';
import { HookSession } from './hook-session';
import type { HookSpec } from './hooks';
import { KVCache } from './kv-cache';
import type { LoraAdapter } from './lora';
import { checkSampling, sampledToken, type SamplingOptions } from './sampler';
import { seededRandom } from '../common/rng';

export interface SampleOptions extends SamplingOptions {
  /** Samples per prompt. */
  k: number;
  maxNewTokens: number;
  seed?: number;
  /** Token ids that end a sample (kept as its last token). Default: the config's eos ids. */
  stop?: number[];
  /** Strings that end a sample once its decoded text contains one (needs `decode`). */
  stopStrings?: string[];
  decode?: (ids: number[]) => string;
  /** One-row edits applied at every step (steered sampling); reads are refused, nothing would return them. */
  hooks?: HookSpec[];
  lora?: LoraAdapter | null;
}

export interface Sample {
  /** New token ids. */
  ids: number[];
  /** Why it ended: a stop id, a stop string, or maxNewTokens. */
  finish: 'stop' | 'stop_string' | 'length';
}

/** The generator seed of sample j of prompt i. */
export function sampleSeed(seed: number, prompt: number, sample: number): number {
  return (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(prompt + 1, 0x85ebca6b) ^ Math.imul(sample + 1, 0xc2b2ae35)) >>> 0;
}

interface Running {
  base: number;
  promptLength: number;
  ids: number[];
  random: () => number;
  finish: Sample['finish'] | null;
}

/** [prompt][sample] continuations. */
export async function sampleMany(m: ModelParts, prompts: number[][], o: SampleOptions): Promise<Sample[][]> {
  checkSampling(o);
  const { k, maxNewTokens: n } = o;
  if (!Number.isInteger(k) || k < 1) throw new Error(`k (samples per prompt) must be a positive integer, got ${k}`);
  if (!Number.isInteger(n) || n < 0) throw new Error(`maxNewTokens must be a non-negative integer, got ${n}`);
  const stopStrings = o.stopStrings ?? [];
  if (stopStrings.length && !o.decode) throw new Error('stop strings need a decode function (a tokenizer) to be matched');
  if (stopStrings.some((s) => typeof s !== 'string' || s === '')) throw new Error('stop strings must be non-empty strings');
  const hooks = o.hooks ?? [];
  checkBatchHooks(m.cfg, hooks);
  if (hooks.some((h) => h.op === 'read')) throw new Error('hook reads are not returned while sampling: read with a forward instead');
  const p = pack(m.cfg, prompts);
  if (n === 0) return prompts.map(() => Array.from({ length: k }, () => ({ ids: [], finish: 'length' as const })));

  const V = m.cfg.vocab;
  const room = Math.max(...prompts.map((s) => s.length)) + n; // cache rows per continuation
  const stop = new Set(o.stop ?? m.cfg.eosTokenIds);
  const all: Running[] = prompts.flatMap((s, i) =>
    Array.from({ length: k }, (_, j) => ({ base: (i * k + j) * room, promptLength: s.length, ids: [], random: seededRandom(sampleSeed(o.seed ?? 0, i, j)), finish: null })),
  );
  const cache = new KVCache(m.rt, m.cfg, all.length * room);
  try {
    // Prefill every prompt once, into its first sample's rows; fork those rows; sample k tokens from its last logits.
    let pass = new Pass(m.rt);
    const rows = prompts.flatMap((s, i) => s.map((_, t) => i * k * room + t));
    const spans = rows.flatMap((r, t) => [r - p.positions[t], r]);
    const pre = record(m, pass, new HookSession(m.cfg, hooks, pass, p.ids.length, 0, null), p.ids, { cache, positions: p.positions, batch: { spans, rows }, lora: o.lora, logits: 'none' }, null);
    cache.commit(p.positions, rows);
    prompts.forEach((s, i) => cache.fork(pass, i * k * room, s.length, Array.from({ length: k - 1 }, (_, j) => (i * k + j + 1) * room)));
    const lastRows = prompts.flatMap((s, i) => Array<number>(k).fill(p.starts[i] + s.length - 1));
    const first = logitsOf(m, pre.layers, gatherRows(m, pass, pre.final, p.ids.length, lastRows), 0, lastRows.length);
    let chosen = sampleRows(pass, V, first, o, all.map((q) => q.random()));
    await pass.submit();

    let live = all;
    for (;;) {
      const ids = new Uint32Array((await chosen).buffer);
      live.forEach((q, r) => {
        const id = sampledToken(ids[r], V);
        q.ids.push(id);
        if (stop.has(id)) q.finish = 'stop';
        else if (stopStrings.length && containsAny(o.decode!(q.ids), stopStrings)) q.finish = 'stop_string';
        else if (q.ids.length >= n) q.finish = 'length';
      });
      live = live.filter((q) => !q.finish);
      if (!live.length) break;
      // One step for every live continuation: its newest token, at its next row, attending to its own rows.
      pass = new Pass(m.rt);
      const positions = live.map((q) => q.promptLength + q.ids.length - 1);
      const rows = live.map((q, t) => q.base + positions[t]);
      const spans = live.flatMap((q, t) => [q.base, rows[t]]);
      const session = new HookSession(m.cfg, hooks, pass, live.length, 0, null);
      const step = record(m, pass, session, live.map((q) => q.ids[q.ids.length - 1]), { cache, positions, batch: { spans, rows }, lora: o.lora, logits: 'all' }, null);
      cache.commit(positions, rows);
      chosen = sampleRows(pass, V, step.logits!.buf, o, live.map((q) => q.random()));
      await pass.submit();
    }
  } finally {
    cache.release();
  }
  return prompts.map((_, i) => all.slice(i * k, (i + 1) * k).map((q) => ({ ids: q.ids, finish: q.finish! })));
}

const containsAny = (text: string, parts: string[]) => parts.some((s) => text.includes(s));
