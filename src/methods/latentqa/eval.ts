// Step 6 (evaluate): held-out controls only. The trained decoder beside three controls — the same decoder with the
// placeholders zeroed (text only: can it answer without the activations?), the untrained model with the same patch
// (Patchscope-like), the majority training answer per question (chance) — and a linear probe on the same
// activations for closed-answer questions.
import type { Model } from '../../engine/model';
import type { LoraAdapter } from '../../engine/lora';
import { Rng, mixSeed } from '../../common/rng';
import { answer, normalizeAnswer, sameAnswer } from './answer';
import type { DecoderFormat } from './decoder';
import { fitProbe, meanPool, predictProbe } from './probe';
import type { ReadItem } from './train';
import type { ChatCodec, QA } from './types';

export interface EvalRow {
  control: string;
  question: string;
  answer: string;
  decoded: string;
  textOnly: string;
  untrained: string;
  probe: string | null;
}

export interface EvalReport {
  accuracy: number;
  text_only_accuracy: number;
  untrained_accuracy: number;
  /** Majority training answer to the same question. */
  chance_accuracy: number;
  /** On the closed-answer questions only (probe_n of them): the probe, and the decoder on the same pairs. */
  probe_accuracy: number | null;
  decoder_accuracy_on_probe_questions: number | null;
  probe_n: number;
  n: number;
  held_out_controls: string[];
  rows: EvalRow[];
}

/** Held-out (read, QA) pairs, n of them drawn without replacement by `seed`. */
export function samplePairs(reads: ReadItem[], n: number, seed: number): { read: ReadItem; qa: QA }[] {
  const all = reads.flatMap((read) => read.item.qa.map((qa) => ({ read, qa })));
  return new Rng(mixSeed(seed, 'latentqa:eval')).shuffle(all).slice(0, Math.min(n, all.length));
}

export async function evaluate(
  model: Model,
  decoder: LoraAdapter,
  codec: ChatCodec,
  fmt: DecoderFormat,
  train: ReadItem[],
  test: ReadItem[],
  opts: { n: number; seed: number; maxNewTokens?: number; onRow?: (r: EvalRow, i: number) => void },
): Promise<EvalReport> {
  const trainControls = new Set(train.map((r) => r.item.control));
  const leaked = test.find((r) => trainControls.has(r.item.control));
  if (leaked) throw new Error(`control ${leaked.item.control} is in both the training and the held-out set`);
  const pairs = samplePairs(test, opts.n, opts.seed);
  // Answers seen in training, per question: the chance baseline and the probe's classes.
  const seen = new Map<string, { xs: Float64Array[]; ys: string[] }>();
  for (const r of train) {
    const x = meanPool(r.acts);
    for (const qa of r.item.qa) {
      const s = seen.get(qa.question) ?? { xs: [], ys: [] };
      s.xs.push(x);
      s.ys.push(normalizeAnswer(qa.answer));
      seen.set(qa.question, s);
    }
  }
  const majority = (q: string) => {
    const ys = seen.get(q)?.ys ?? [];
    const counts = new Map<string, number>();
    ys.forEach((y) => counts.set(y, (counts.get(y) ?? 0) + 1));
    return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '';
  };
  // Closed-answer questions: at most 4 distinct answers in training, at least 2 of them.
  const probes = new Map<string, Awaited<ReturnType<typeof fitProbe>>>();
  const probeFor = async (q: string) => {
    const s = seen.get(q);
    if (!s) return null;
    const k = new Set(s.ys).size;
    if (k < 2 || k > 4) return null;
    if (!probes.has(q)) probes.set(q, await fitProbe(model.parts.rt, s.xs, s.ys));
    return probes.get(q)!;
  };
  const rows: EvalRow[] = [];
  const max = opts.maxNewTokens ?? 24;
  for (const [i, { read, qa }] of pairs.entries()) {
    const probe = await probeFor(qa.question);
    const row: EvalRow = {
      control: read.item.control,
      question: qa.question,
      answer: qa.answer,
      decoded: (await answer(model, decoder, codec, fmt, read.acts, qa.question, { maxNewTokens: max })).text,
      textOnly: (await answer(model, decoder, codec, fmt, read.acts, qa.question, { maxNewTokens: max, mode: 'zero' })).text,
      untrained: (await answer(model, null, codec, fmt, read.acts, qa.question, { maxNewTokens: max })).text,
      probe: probe ? predictProbe(probe, meanPool(read.acts)) : null,
    };
    rows.push(row);
    opts.onRow?.(row, i);
  }
  const acc = (f: (r: EvalRow) => boolean, rs = rows) => (rs.length ? rs.filter(f).length / rs.length : 0);
  const probed = rows.filter((r) => r.probe !== null);
  return {
    accuracy: acc((r) => sameAnswer(r.decoded, r.answer)),
    text_only_accuracy: acc((r) => sameAnswer(r.textOnly, r.answer)),
    untrained_accuracy: acc((r) => sameAnswer(r.untrained, r.answer)),
    chance_accuracy: acc((r) => sameAnswer(majority(r.question), r.answer)),
    probe_accuracy: probed.length ? acc((r) => sameAnswer(r.probe!, r.answer), probed) : null,
    decoder_accuracy_on_probe_questions: probed.length ? acc((r) => sameAnswer(r.decoded, r.answer), probed) : null,
    probe_n: probed.length,
    n: rows.length,
    held_out_controls: [...new Set(test.map((r) => r.item.control))].sort(),
    rows,
  };
}

/** Accuracy of each column per question (questions naming a persona are grouped by their first words). */
export function byQuestion(rows: EvalRow[]): Record<string, { n: number; decoder: number; text_only: number; untrained: number }> {
  const groups = new Map<string, EvalRow[]>();
  for (const r of rows) {
    const key = r.question.split(' ').slice(0, 4).join(' ');
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const out: Record<string, { n: number; decoder: number; text_only: number; untrained: number }> = {};
  for (const [k, rs] of groups) {
    const f = (g: (r: EvalRow) => string) => rs.filter((r) => sameAnswer(g(r), r.answer)).length / rs.length;
    out[k] = { n: rs.length, decoder: f((r) => r.decoded), text_only: f((r) => r.textOnly), untrained: f((r) => r.untrained) };
  }
  return out;
}
