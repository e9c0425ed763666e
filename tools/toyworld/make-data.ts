// Writes the training data and tokenizer the Python trainer reads:
//   node --import tsx tools/toyworld/make-data.ts --seed 1 --out tools/toyworld/runs/data [--docs 40000] [--len 128] [--version 2]
// --version 1 (default): the shipped models' streams and 844-word vocabulary; 2: toy world v2 (STREAMS_V2, buildVocabV2).
// Output: tokenizer.json, tokenizer_config.json, <stream>.ids.bin (uint16 rows of --len tokens, docs packed whole, padded),
// <stream>.w.bin (uint8 per token: 0 pad, 1 context, 2 answer), eval.json (held-out items as ids), stats.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  STREAMS, Stream, STREAMS_V2, StreamV2, EVAL_FAMILIES, ALL_EVAL_FAMILIES, EvalFamily, EvalOptions, EvalItem, generateDocs,
  generateEvalItems, buildWorld, buildVocab, buildVocabV2, WordTokenizer, tokenizerJson, tokenizerConfig, Doc,
  DEFAULT_WORLD_SEED, Rng, mixSeed, recallEvalItem, inductionEvalItem,
} from '../../src/toyworld/index';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}
const seed = Number(arg('seed', '1'));
const out = arg('out', 'tools/toyworld/runs/data');
const baseDocs = Number(arg('docs', '40000'));
const len = Number(arg('len', '128'));
const evalN = Number(arg('eval-n', '200'));
const worldSeed = Number(arg('world-seed', String(DEFAULT_WORLD_SEED)));
const version = Number(arg('version', '1'));
if (version !== 1 && version !== 2) throw new Error(`--version must be 1 or 2, got ${version}`);

/** Relative amount generated per stream (binding needs the most fresh contexts). */
const SCALE_V1: Record<Stream, number> = {
  'binding-1': 0.5, 'binding-2': 2, 'binding-3': 2, 'binding-4': 1.5,
  implications: 2, persona: 1, arithmetic: 1, sentiment: 0.5, judgement: 1,
};
const SCALE_V2: Record<StreamV2, number> = {
  induction: 1, 'recall-gap0': 1.5, 'recall-gap1': 1.5, 'recall-question': 3, 'binding-2': 0.5, 'binding-3': 0.5,
  'binding-4': 0.5, implications: 2, persona: 0.5, arithmetic: 1, sentiment: 0.3, judgement: 0.5, refusal: 0.5,
  style: 0.7, topic: 0.5, cipher: 1, twohop: 0.5,
};
const SCALE: Record<string, number> = version === 2 ? SCALE_V2 : SCALE_V1;

mkdirSync(out, { recursive: true });
const world = buildWorld(worldSeed);
const vocab = version === 2 ? buildVocabV2() : buildVocab();
const tok = new WordTokenizer(vocab);
writeFileSync(join(out, 'tokenizer.json'), JSON.stringify(tokenizerJson(vocab)));
writeFileSync(join(out, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig(), null, 2));

function encodeDoc(d: Doc): { ids: number[]; w: number[] } {
  const ids: number[] = [];
  const w: number[] = [];
  for (const p of d.parts) {
    const t = tok.encode(p.text);
    ids.push(...t);
    w.push(...t.map(() => (p.answer ? 2 : 1)));
  }
  return { ids, w };
}

const stats: Record<string, unknown> = { seed, worldSeed, version, len, vocabSize: vocab.length, streams: {} };
for (const s of Object.keys(version === 2 ? STREAMS_V2 : STREAMS) as (Stream | StreamV2)[]) {
  const docs = generateDocs(s, Math.round(baseDocs * SCALE[s]), seed, world);
  const rows: { ids: number[]; w: number[] }[] = [];
  let cur = { ids: [] as number[], w: [] as number[] };
  let tokens = 0;
  let answerTokens = 0;
  let dropped = 0;
  for (const d of docs) {
    const e = encodeDoc(d);
    if (e.ids.length > len) { dropped++; continue; }
    if (e.ids.some((i) => i === tok.id('<unk>'))) throw new Error(`unknown word in ${s}`);
    if (cur.ids.length + e.ids.length > len) { rows.push(cur); cur = { ids: [], w: [] }; }
    cur.ids.push(...e.ids);
    cur.w.push(...e.w);
    tokens += e.ids.length;
    answerTokens += e.w.filter((x) => x === 2).length;
  }
  if (cur.ids.length) rows.push(cur);
  const ids = new Uint16Array(rows.length * len).fill(tok.pad);
  const w = new Uint8Array(rows.length * len);
  rows.forEach((r, i) => { ids.set(r.ids, i * len); w.set(r.w, i * len); });
  writeFileSync(join(out, `${s}.ids.bin`), ids);
  writeFileSync(join(out, `${s}.w.bin`), w);
  (stats.streams as Record<string, unknown>)[s] = { docs: docs.length - dropped, dropped, rows: rows.length, tokens, answerTokens };
  console.log(`${s}: ${docs.length - dropped} docs, ${rows.length} rows, ${tokens} tokens (${answerTokens} answer)`);
}

// Held-out items for the trainer's own progress checks (engine numbers for the card come from src/toyworld/eval.ts).
// v2 adds the new families and the variants the phase-change log follows (recall forms, induction, injections, …).
const evalSeed = seed + 1000;
const sets: Record<string, EvalItem[]> = {};
const families: readonly EvalFamily[] = version === 2 ? ALL_EVAL_FAMILIES : EVAL_FAMILIES;
for (const f of families) sets[f] = generateEvalItems(f, evalN, evalSeed, world);
if (version === 2) {
  const variants: Record<string, [EvalFamily, EvalOptions]> = {
    'binding-held-out': ['binding', { binding: { style: 'held-out' } }],
    'binding-4': ['binding', { binding: { minEntities: 4, maxEntities: 4 } }],
    'inject-append': ['binding', { binding: { inject: 'append' } }],
    'inject-prepend': ['binding', { binding: { inject: 'prepend' } }],
    'implications-compose': ['implications', { implications: 'compose' }],
    'arithmetic-hard': ['arithmetic', { arithmetic: 'hard' }],
    'refusal-other': ['refusal', { refusal: 'other' }],
  };
  for (const [name, [f, o]] of Object.entries(variants)) sets[name] = generateEvalItems(f, evalN, evalSeed, world, o);
  const rng = new Rng(mixSeed(evalSeed, 'eval:diagnostics'));
  sets['recall-gap0'] = Array.from({ length: evalN }, () => recallEvalItem(rng, 'gap0'));
  sets['recall-gap1'] = Array.from({ length: evalN }, () => recallEvalItem(rng, 'gap1'));
  sets.induction = Array.from({ length: evalN }, () => inductionEvalItem(rng));
}
const evalSets: Record<string, unknown[]> = {};
for (const [f, items] of Object.entries(sets)) {
  evalSets[f] = items.map((it) => {
    const c = it.check;
    const check = c.type === 'next'
      ? { type: 'next', answer: tok.id(c.answer) }
      : {
          type: 'generate', maxNew: c.maxNew, stop: c.stop.map((x) => tok.id(x)),
          firstIs: c.firstIs === undefined ? null : tok.id(c.firstIs),
          firstIsNot: c.firstIsNot === undefined ? null : tok.id(c.firstIsNot),
          equals: c.equals ? c.equals.map((x) => tok.id(x)) : null,
          containsAny: c.containsAny ? c.containsAny.map((x) => tok.id(x)) : null,
          answerAfter: c.answerAfter ? { after: c.answerAfter.after.map((x) => tok.id(x)), answer: tok.id(c.answerAfter.answer) } : null,
        };
    return { ids: tok.encode(it.prompt), check };
  });
}
writeFileSync(join(out, 'eval.json'), JSON.stringify(evalSets));
writeFileSync(join(out, 'stats.json'), JSON.stringify(stats, null, 2));
console.log(`vocab ${vocab.length}, wrote ${out}`);
