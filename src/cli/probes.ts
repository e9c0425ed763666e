// `latentlab probes --model DIR --set synth|paraphrase|injected --n N --seed S --json`: propositional probes
// (src/methods/prop-probes/method.ts). Fits the domain probes and the Hessian binding subspace first, or reuses --fit FILE
// when it exists (written there after fitting); prints EM / Jaccard for probes, prompting and a random subspace.
// Fit flags: --probe-layer, --binding-layer, --rank (50), --train-contexts (80), --localize-samples (6),
// --hessian-prompts (4), --estimator auto|full|randomized, --objective prob|logprob, --template auto|toy|english.
// This file only turns flags into the method's requests and its report into the CLI's JSON.
import type { Loaded } from './engine-commands';
import { type Args, num, str } from './args';
import { fileStore, nodeContext } from './method-context';
import probes, { type Template } from '../methods/prop-probes/method';
import type { ProbeSet } from '../methods/prop-probes/types';
import type { MethodProgress } from '../methods/kit/context';

const SETS: ProbeSet[] = ['synth', 'paraphrase', 'injected'];

function int(args: Args, name: string, fallback: number): number {
  const v = num(args, name, fallback);
  if (!Number.isInteger(v) || v < 0) throw new Error(`--${name} must be a non-negative integer, got ${v}`);
  return v;
}

export async function probesCommand(l: Loaded, args: Args): Promise<object> {
  const set = str(args, 'set', 'synth') as ProbeSet;
  if (!SETS.includes(set)) throw new Error(`--set must be one of ${SETS.join('|')}, got ${set}`);
  const template = str(args, 'template', 'auto') as Template;
  if (!['auto', 'toy', 'english'].includes(template)) throw new Error(`--template must be auto|toy|english, got ${template}`);
  const n = int(args, 'n', 20);
  const seed = int(args, 'seed', 0);
  const opt = (name: string) => (args[name] === undefined ? undefined : int(args, name, 0));
  const estimator = str(args, 'estimator', 'auto');
  if (!['auto', 'full', 'randomized'].includes(estimator)) throw new Error(`--estimator must be auto|full|randomized, got ${estimator}`);
  const objective = str(args, 'objective', 'prob');
  if (!['prob', 'logprob'].includes(objective)) throw new Error(`--objective must be prob|logprob, got ${objective}`);
  const ctx = nodeContext({
    loaded: l, modelDir: typeof args.model === 'string' ? args.model : null, gpu: null,
    onProgress: args.quiet === true ? undefined : progress(),
    store: typeof args.fit === 'string' ? fileStore(args.fit) : undefined,
  });
  try {
    const { fit } = await probes.calls.fit(ctx, {
      template,
      settings: {
        probeLayer: opt('probe-layer'), bindingLayer: opt('binding-layer'), k: opt('rank'), trainContexts: opt('train-contexts'),
        localizeSamples: opt('localize-samples'), hessianPrompts: opt('hessian-prompts'), estimator: estimator as 'auto' | 'full' | 'randomized',
        objective: objective as 'prob' | 'logprob', seed,
      },
    });
    const r = await probes.calls.evaluate(ctx, { fitKey: fit.key, set, n, seed: seed + 1, minEntities: int(args, 'min-entities', 2), maxEntities: int(args, 'max-entities', 3), template });
    return {
      em: r.em, jaccard: r.jaccard, prompting_em: r.prompting_em, random_subspace_em: r.random_subspace_em, n: r.n,
      prompting_jaccard: r.prompting_jaccard, random_subspace_jaccard: r.random_subspace_jaccard,
      domain_accuracy: r.domain_accuracy,
      set, probe_layer: fit.probeLayer, binding_layer: fit.bindingLayer, rank: fit.form.k, estimator: fit.form.estimator,
      gradient_passes: fit.form.passes, objective: fit.form.objective ?? 'logprob', fit_seconds: fit.seconds, offsets: Object.fromEntries(fit.probes.map((p) => [p.domain, p.offset])),
    };
  } finally {
    ctx.close();
  }
}

function progress(): (p: MethodProgress) => void {
  let last = '';
  let lastT = 0;
  return ({ stage, done, total }) => {
    const now = Date.now();
    if (stage === last && done < total && now - lastT < 2000) return;
    last = stage;
    lastT = now;
    process.stderr.write(`${stage}: ${done}/${total}\n`);
  };
}
