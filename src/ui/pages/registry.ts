// Pages of the lab: Explore and Train, then one page per method of src/methods/list.ts, found by convention at
// src/ui/pages/<method id>/Page.svelte (a method without that file has no page). Pages load on first visit.
import type { Component } from 'svelte';
import type { EngineClient } from '../../workers/client';
import { METHODS, type MethodEntry } from '../../methods/list';

/** What every page receives: the engine client (the worker owns the GPU; pages only send it plain data). */
export interface PageProps {
  gpu: EngineClient;
}

type PageModule = { default: Component<PageProps> };

export interface PageEntry {
  id: string;
  title: string;
  /** One line for the navigation tooltip. */
  blurb: string;
  load: () => Promise<PageModule>;
}

const METHOD_PAGES = import.meta.glob<PageModule>('./*/Page.svelte');

/** The pages of `methods` whose Page.svelte is among `files` (paths as './<id>/Page.svelte'). */
export function methodPages(methods: MethodEntry[], files: Partial<Record<string, () => Promise<PageModule>>>): PageEntry[] {
  return methods.flatMap((m) => {
    const load = files[`./${m.id}/Page.svelte`];
    return load ? [{ id: m.id, title: m.title, blurb: m.blurb, load }] : [];
  });
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
  ...methodPages(METHODS, METHOD_PAGES),
];

export function findPage(id: string): PageEntry {
  return PAGES.find((p) => p.id === id) ?? PAGES[0];
}
