// Writes the training data and tokenizer the Python trainer reads:
//   node --import tsx tools/toyworld/make-data.ts --seed 1 --out tools/toyworld/runs/data [--docs 40000] [--len 128]
// Output: tokenizer.json, tokenizer_config.json, <stream>.ids.bin (uint16 rows of --len tokens, docs packed whole, padded),
// <stream>.w.bin (uint8 per token: 0 pad, 1 context, 2 answer), eval.json (held-out items as ids), stats.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  STREAMS, Stream, EVAL_FAMILIES, generateDocs, generateEvalItems, buildWorld, buildVocab, WordTokenizer,
  tokenizerJson, tokenizerConfig, Doc, DEFAULT_WORLD_SEED,
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

/** Relative amount generated per stream (binding needs the most fresh contexts). */
const SCALE: Record<Stream, number> = {
  'binding-1': 0.5, 'binding-2': 2, 'binding-3': 2, 'binding-4': 1.5,
  implications: 2, persona: 1, arithmetic: 1, sentiment: 0.5, judgement: 1,
};

mkdirSync(out, { recursive: true });
const world = buildWorld(worldSeed);
const vocab = buildVocab();
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

const stats: Record<string, unknown> = { seed, worldSeed, len, vocabSize: vocab.length, streams: {} };
for (const s of Object.keys(STREAMS) as Stream[]) {
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
const evalSets: Record<string, unknown[]> = {};
for (const f of EVAL_FAMILIES) {
  evalSets[f] = generateEvalItems(f, evalN, seed + 1000, world).map((it) => {
    const c = it.check;
    const check = c.type === 'next'
      ? { type: 'next', answer: tok.id(c.answer) }
      : {
          type: 'generate', maxNew: c.maxNew, stop: c.stop.map((x) => tok.id(x)),
          firstIs: c.firstIs === undefined ? null : tok.id(c.firstIs),
          containsAny: c.containsAny ? c.containsAny.map((x) => tok.id(x)) : null,
          answerAfter: c.answerAfter ? { after: c.answerAfter.after.map((x) => tok.id(x)), answer: tok.id(c.answerAfter.answer) } : null,
        };
    return { ids: tok.encode(it.prompt), check };
  });
}
writeFileSync(join(out, 'eval.json'), JSON.stringify(evalSets));
writeFileSync(join(out, 'stats.json'), JSON.stringify(stats, null, 2));
console.log(`vocab ${vocab.length}, wrote ${out}`);
