// The methods of the lab: the one list the page registry (src/ui/pages/registry.ts), the engine worker
// (src/workers/method-host.ts) and the CLI (src/cli/main.ts) read. Adding a method = its folder here (with method.ts),
// its page (src/ui/pages/<id>/Page.svelte) and one entry below; src/methods/README.md is the recipe.
import type { MethodModule } from './kit/method';

export interface MethodEntry {
  /** The folder's name; also the page's route and the worker's method id. */
  id: string;
  title: string;
  /** The paper it implements. */
  paper: string;
  /** One line for the navigation tooltip. */
  blurb: string;
  /** `latentlab <cli> ...`, or null for a method without a command. */
  cli: string | null;
  /** Kinds of run records (training checkpoints) the method writes; the Train page leaves them to the method's page. */
  runKinds: string[];
  load(): Promise<MethodModule>;
}

export const METHODS: MethodEntry[] = [
  {
    // The Explore page (src/ui/pages/Explore.svelte, listed by the page registry itself) runs these calls; the CLI
    // has one command per analysis (latentlab lens | patch | steer, src/cli/explore.ts).
    id: 'explore',
    title: 'Explore',
    paper: 'nostalgebraist: interpreting GPT: the logit lens (2020); Meng et al.: Locating and editing factual associations in GPT (arXiv 2202.05262), activation patching; Turner et al.: Steering language models with activation engineering (arXiv 2308.10248)',
    blurb: 'Logit lens, activation patching sweeps and steering vectors on the loaded model',
    cli: null,
    runKinds: [],
    load: async () => (await import('./explore/method')).default,
  },
  {
    id: 'market-entry',
    title: 'Market entry',
    paper: 'Jagadeesan, Jordan, Steinhardt: Safety vs. performance: how multi-objective learning reduces barriers to market entry (arXiv 2409.03734)',
    blurb: 'Multi-objective scaling laws and market entry: ridge-regression loss curves, entry thresholds, Monte Carlo check',
    cli: 'market-entry',
    runKinds: [],
    load: async () => (await import('./market-entry/method')).default,
  },
  {
    id: 'prop-probes',
    title: 'Propositional probes',
    paper: 'Feng, Russell, Steinhardt: Monitoring latent world states in language models with propositional probes (arXiv 2406.19501)',
    blurb: 'Domain probes + a Hessian binding subspace decode contexts into propositions; EM / Jaccard against prompting and a random subspace',
    cli: 'probes',
    runKinds: [],
    load: async () => (await import('./prop-probes/method')).default,
  },
  {
    id: 'latentqa',
    title: 'LatentQA',
    paper: 'Pan, Chen, Steinhardt: LatentQA: teaching LLMs to decode activations into natural language (arXiv 2412.08686)',
    blurb: "A LoRA decoder reads the model's activations and answers questions about its hidden system prompt; held-out table, small training, steering through the decoder",
    cli: 'latentqa',
    runKinds: ['latentqa-decoder'],
    load: async () => (await import('./latentqa/method')).default,
  },
  {
    id: 'premem',
    title: 'Pre-memorization accuracy',
    paper: 'Kang, Setlur, Ghosh, Steinhardt, Tomlin, Levine, Kumar: What do learning dynamics reveal about generalization in LLM reasoning? (arXiv 2411.07681)',
    blurb: "Pre-memorization train accuracy vs test accuracy over fine-tuning checkpoints (the authors' released runs): scatter, R² beside plain train accuracy, threshold sweep",
    cli: 'premem',
    runKinds: [],
    load: async () => (await import('./premem/method')).default,
  },
];

export function findMethod(id: string, methods: MethodEntry[] = METHODS): MethodEntry {
  const m = methods.find((x) => x.id === id);
  if (!m) throw new Error(`no method "${id}" (methods: ${methods.map((x) => x.id).join(', ')})`);
  return m;
}

/** The method whose run records have this kind, if any. */
export const methodOfRunKind = (kind: string, methods: MethodEntry[] = METHODS): MethodEntry | undefined => methods.find((m) => m.runKinds.includes(kind));
