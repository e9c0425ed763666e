// `latentlab probes --model DIR --set synth|paraphrase|injected --n N --seed S --json`: propositional probes
// (src/methods/prop-probes). Fits the domain probes and the Hessian binding subspace first, or reuses --fit FILE
// when it exists (written there after fitting); prints EM / Jaccard for probes, prompting and a random subspace.
// Fit flags: --probe-layer, --binding-layer, --rank (50), --train-contexts (80), --localize-samples (6),
// --hessian-prompts (4), --estimator auto|full|randomized, --objective prob|logprob, --template auto|toy|english.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Loaded } from './engine-commands';
import { type Args, num, str } from './args';
import { modelBackend } from '../methods/prop-probes/backend';
import { encoderFor } from '../methods/prop-probes/encoder';
import { makeSet } from '../methods/prop-probes/data';
import { evaluateSet, fitFromJson, fitPropProbes, fitToJson, type PropProbeFit } from '../methods/prop-probes/pipeline';
import type { ProbeSet } from '../methods/prop-probes/types';

const SETS: ProbeSet[] = ['synth', 'paraphrase', 'injected'];

function int(args: Args, name: string, fallback: number): number {
  const v = num(args, name, fallback);
  if (!Number.isInteger(v) || v < 0) throw new Error(`--${name} must be a non-negative integer, got ${v}`);
  return v;
}

export async function probesCommand(l: Loaded, args: Args): Promise<object> {
  const set = str(args, 'set', 'synth') as ProbeSet;
  if (!SETS.includes(set)) throw new Error(`--set must be one of ${SETS.join('|')}, got ${set}`);
  if (!l.tokenizer) throw new Error(`probes needs a tokenizer, and ${l.model.label} has no tokenizer.json`);
  const template = str(args, 'template', 'auto') as 'auto' | 'toy' | 'english';
  if (!['auto', 'toy', 'english'].includes(template)) throw new Error(`--template must be auto|toy|english, got ${template}`);
  const enc = encoderFor(l.tokenizer, template);
  const b = modelBackend(l.model, l.lora);
  const n = int(args, 'n', 20);
  const seed = int(args, 'seed', 0);
  const quiet = args.quiet === true;
  const onProgress = quiet ? undefined : progress();
  const fitFile = typeof args.fit === 'string' ? args.fit : null;
  let fit: PropProbeFit | null = null;
  if (fitFile && existsSync(fitFile)) {
    fit = fitFromJson(JSON.parse(readFileSync(fitFile, 'utf8')));
    if (fit.d !== b.d || fit.nLayers !== b.nLayers) throw new Error(`${fitFile} was fitted on another model (d ${fit.d}, ${fit.nLayers} layers)`);
  }
  if (!fit) {
    const opt = (name: string) => (args[name] === undefined ? undefined : int(args, name, 0));
    const est = str(args, 'estimator', 'auto');
    if (!['auto', 'full', 'randomized'].includes(est)) throw new Error(`--estimator must be auto|full|randomized, got ${est}`);
    const objective = str(args, 'objective', 'prob');
    if (!['prob', 'logprob'].includes(objective)) throw new Error(`--objective must be prob|logprob, got ${objective}`);
    fit = await fitPropProbes(b, enc, l.model.label, {
      probeLayer: opt('probe-layer'), bindingLayer: opt('binding-layer'), k: opt('rank'),
      trainContexts: opt('train-contexts'), localizeSamples: opt('localize-samples'), hessianPrompts: opt('hessian-prompts'),
      estimator: est as 'auto' | 'full' | 'randomized', objective: objective as 'prob' | 'logprob', seed, onProgress,
    });
    if (fitFile) writeFileSync(fitFile, JSON.stringify(fitToJson(fit)));
  }
  const items = makeSet(set, n, seed + 1, enc, { minEntities: int(args, 'min-entities', 2), maxEntities: int(args, 'max-entities', 3) });
  const r = await evaluateSet(b, enc, fit, items, { onProgress });
  return {
    em: r.em, jaccard: r.jaccard, prompting_em: r.prompting_em, random_subspace_em: r.random_subspace_em, n: r.n,
    prompting_jaccard: r.prompting_jaccard, random_subspace_jaccard: r.random_subspace_jaccard,
    domain_accuracy: r.domain_accuracy,
    set, probe_layer: fit.probeLayer, binding_layer: fit.bindingLayer, rank: fit.form.k, estimator: fit.form.estimator,
    gradient_passes: fit.form.passes, objective: fit.form.objective ?? 'logprob', fit_seconds: fit.seconds, offsets: Object.fromEntries(fit.probes.map((p) => [p.domain, p.offset])),
  };
}

function progress(): (stage: string, done: number, total: number) => void {
  let last = '';
  let lastT = 0;
  return (stage, done, total) => {
    const now = Date.now();
    if (stage === last && done < total && now - lastT < 2000) return;
    last = stage;
    lastT = now;
    process.stderr.write(`${stage}: ${done}/${total}\n`);
  };
}
