// Pages of the lab. A method adds its page with one entry here; pages load on first visit.
import type { Component } from 'svelte';
import type { EngineClient } from '../../workers/client';

/** What every page receives: the engine client (the worker owns the GPU; pages only send it plain data). */
export interface PageProps {
  gpu: EngineClient;
}

export interface PageEntry {
  id: string;
  title: string;
  /** One line for the navigation tooltip. */
  blurb: string;
  load: () => Promise<{ default: Component<PageProps> }>;
}

export const PAGES: PageEntry[] = [
  {
    id: 'explore',
    title: 'Explore',
    blurb: 'Tokens, next-token probabilities and greedy continuations of a prompt',
    load: () => import('./Explore.svelte'),
  },
  {
    id: 'train',
    title: 'Train',
    blurb: 'LoRA fine-tuning in the browser: loss chart, pause / resume / cancel, checkpoints in IndexedDB, PEFT export and import',
    load: () => import('./Train.svelte'),
  },
  {
    id: 'market-entry',
    title: 'Market entry',
    blurb: 'Multi-objective scaling laws and market entry: ridge-regression loss curves, entry thresholds, Monte Carlo check',
    // Runs in its own worker (src/workers/market-entry-client.ts), which opens a WebGPU device for the Monte Carlo.
    load: () => import('./MarketEntry.svelte'),
  },
  {
    id: 'prop-probes',
    title: 'Propositional probes',
    blurb: 'Domain probes + a Hessian binding subspace decode contexts into propositions; EM / Jaccard against prompting and a random subspace',
    load: () => import('./PropProbes.svelte'),
  },
  {
    id: 'latentqa',
    title: 'LatentQA',
    blurb: "A LoRA decoder reads the model's activations and answers questions about its hidden system prompt; held-out table, small training, steering through the decoder",
    load: () => import('./LatentQA.svelte'),
  },
];

export function findPage(id: string): PageEntry {
  return PAGES.find((p) => p.id === id) ?? PAGES[0];
}
