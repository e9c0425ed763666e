// Measures a trained model with the LatentLab engine and writes its model card:
//   node --import ./bin/register.js tools/toyworld/card.ts --model public/models/toy-s --name toy-s [--n 200] [--n-gen 60] [--seed 2026]
// Reads training.json (written by train.py), evaluates every family on fresh held-out items through the WGSL engine,
// and writes eval.json + MODEL_CARD.md next to the weights.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nodeGpu, closeGpu } from '../../src/gpu/node';
import { Model } from '../../src/engine/model';
import { folderFiles } from '../../src/engine/files-node';
import {
  EVAL_FAMILIES, ALL_EVAL_FAMILIES, EvalFamily, WordTokenizer, evaluateFamily, buildWorld, buildVocab, DEFAULT_WORLD_SEED,
} from '../../src/toyworld/index';
import { engineScorer } from '../../src/toyworld/engine-scorer';
import { vocabFromTokenizerJson } from '../../src/common/vocab';
import { renderCard, CardEval } from './card-text';

const arg = (k: string, d: string) => (process.argv.includes(`--${k}`) ? process.argv[process.argv.indexOf(`--${k}`) + 1] : d);
const dir = arg('model', 'public/models/toy-s');
const name = arg('name', 'toy-s');
const n = Number(arg('n', '200'));
// Generation-scored families (persona, arithmetic, cipher, refusal) decode many tokens per item, so they get fewer items.
const nGen = Number(arg('n-gen', '60'));
const seed = Number(arg('seed', '2026'));
const notes = arg('notes', '');

// --render-only rewrites MODEL_CARD.md from an existing eval.json (e.g. after editing notes) without re-measuring.
const renderOnly = process.argv.includes('--render-only');
// --trainer-only writes a draft card from the trainer's final evaluation, labelled as such, until the engine has run.
const trainerOnly = process.argv.includes('--trainer-only');
// A v2 model (its vocabulary extends v1's) is measured on every family and the v2 variants too.
const vocab = vocabFromTokenizerJson(JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')));
const v2 = vocab.length > buildVocab().length;
const families: readonly EvalFamily[] = v2 ? ALL_EVAL_FAMILIES : EVAL_FAMILIES;
let evals: CardEval[] = [];
if (renderOnly) {
  evals = JSON.parse(readFileSync(join(dir, 'eval.json'), 'utf8')).evals;
} else if (trainerOnly) {
  const t = JSON.parse(readFileSync(join(dir, 'training.json'), 'utf8'));
  const last = t.history[t.history.length - 1];
  evals = families.filter((f) => last[f] !== undefined).map((f) => ({
    label: f, family: f, n: t.stats.evalN ?? 200, seed: t.stats.seed + 1000, accuracy: last[f],
    stderr: Math.sqrt((last[f] * (1 - last[f])) / (t.stats.evalN ?? 200)),
  }));
} else {
  const tok = new WordTokenizer(vocab);
  const model = await Model.load(await nodeGpu(), folderFiles(dir));
  const scorer = engineScorer(model);
  const world = buildWorld(DEFAULT_WORLD_SEED);
  const runs: [string, EvalFamily, object][] = [
    ...families.map((f) => [f, f, {}] as [string, EvalFamily, object]),
    ['binding (held-out paraphrase style)', 'binding', { binding: { style: 'held-out' } }],
    ['binding (4 entities)', 'binding', { binding: { minEntities: 4, maxEntities: 4 } }],
    ['binding under prompt injection (true attribute answered)', 'binding', { binding: { inject: true } }],
  ];
  if (v2) {
    runs.push(
      ['binding under prepended injection (true attribute answered)', 'binding', { binding: { inject: 'prepend' } }],
      ['implications of compose people (composition never trained)', 'implications', { implications: 'compose' }],
      ['arithmetic, hard split (4–5 steps, never trained)', 'arithmetic', { arithmetic: 'hard' }],
      ['refusal on the restricted topic', 'refusal', { refusal: 'restricted' }],
      ['no refusal elsewhere (1 − false-refusal rate)', 'refusal', { refusal: 'other' }],
      ['cipher: encode', 'cipher', { cipher: 'encode' }],
      ['cipher: spell', 'cipher', { cipher: 'spell' }],
    );
  }
  for (const [label, family, opts] of runs) {
    const t = Date.now();
    const count = ['persona', 'arithmetic', 'cipher', 'refusal'].includes(family) ? nGen : n;
    const r = await evaluateFamily(family, count, seed, tok, scorer, world, opts);
    evals.push({ label, family, n: count, seed, accuracy: r.accuracy, stderr: r.stderr });
    console.log(`${label}: ${r.accuracy.toFixed(3)} ± ${r.stderr.toFixed(3)} (${((Date.now() - t) / 1000).toFixed(0)} s)`);
  }
  model.dispose();
  await closeGpu();
}
const training = JSON.parse(readFileSync(join(dir, 'training.json'), 'utf8'));
const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
if (!renderOnly && !trainerOnly) writeFileSync(join(dir, 'eval.json'), JSON.stringify({ engine: 'LatentLab WGSL engine (Node, Dawn)', evals }, null, 2));
writeFileSync(join(dir, 'MODEL_CARD.md'), renderCard(name, config, training, evals, notes ? readFileSync(notes, 'utf8') : '', trainerOnly ? 'trainer' : 'engine'));
console.log(`wrote ${dir}/MODEL_CARD.md`);
