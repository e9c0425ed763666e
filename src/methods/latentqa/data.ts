// Datasets of (control, stimulus, QA pairs), split by control so held-out controls are never seen in training.
// Sources: the toy world's persona chats (toy models), the built-in Hub persona set (hub-personas.json, written for
// this project), or the user's own JSONL.
import { Rng, mixSeed } from '../../common/rng';
import { PERSONAS, personaChat } from '../../toyworld/families/persona';
import type { Control, LqaItem, Message, QA } from './types';
import HUB from './hub-personas.json';

/** What the decoder reads: the user turn only (hardest: the persona must be carried from the hidden prompt), or the
 *  user turn and the assistant's completion. */
export type StimulusMode = 'user' | 'completion';

/** Toy-world persona chats: `perControl` items for every one of the 44 personas/goals. */
export function toyItems(perControl: number, seed: number, mode: StimulusMode = 'user'): LqaItem[] {
  const rng = new Rng(mixSeed(seed, 'latentqa:toy'));
  const out: LqaItem[] = [];
  for (const p of PERSONAS) {
    for (let i = 0; i < perControl; i++) {
      const chat = personaChat(rng, 1, p);
      const [system, user, assistant] = chat.messages;
      out.push({
        control: p.id,
        controlMessages: [system],
        stimulus: mode === 'user' ? [user] : [user, assistant],
        qa: chat.qa,
      });
    }
  }
  return out;
}

/** The built-in persona/goal set for Hub instruct models: each control's system prompts × stimuli. */
export interface HubControl extends Control {
  systems: string[];
  stimuli: string[];
}

export const HUB_CONTROLS: readonly HubControl[] = HUB as HubControl[];

export function hubItems(controls: readonly HubControl[] = HUB_CONTROLS): LqaItem[] {
  const out: LqaItem[] = [];
  for (const c of controls) {
    for (const [i, s] of c.systems.entries()) {
      for (const [j, u] of c.stimuli.entries()) {
        if ((i + j) % 2 && c.systems.length * c.stimuli.length > 2) continue; // half the grid: varied, not redundant
        out.push({ control: c.id, controlMessages: [{ role: 'system', content: s }], stimulus: [{ role: 'user', content: u }], qa: c.qa });
      }
    }
  }
  return out;
}

/**
 * Items from JSONL, one object a line: {"control": id, "system": "...", "stimulus_user": "...", "qa": [[q, a], ...]}
 * (the paper's field names), or with "control_user" instead of "system" (the control as a first user turn), or
 * {"control", "controlMessages", "stimulus", "qa": [{question, answer}]} as this module writes them.
 */
export function parseJsonl(text: string): LqaItem[] {
  const out: LqaItem[] = [];
  for (const [n, line] of text.split('\n').entries()) {
    if (!line.trim()) continue;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line);
    } catch (e) {
      throw new Error(`line ${n + 1}: not JSON (${(e as Error).message})`);
    }
    const control = String(o.control ?? o.label ?? '');
    if (!control) throw new Error(`line ${n + 1}: no "control" (or "label") id`);
    const controlMessages: Message[] = Array.isArray(o.controlMessages)
      ? (o.controlMessages as Message[])
      : typeof o.system === 'string'
        ? [{ role: 'system', content: o.system }]
        : typeof o.control_user === 'string'
          ? [{ role: 'user', content: o.control_user }]
          : [];
    if (!controlMessages.length) throw new Error(`line ${n + 1}: no control ("system", "control_user" or "controlMessages")`);
    const stimulus: Message[] = Array.isArray(o.stimulus)
      ? (o.stimulus as Message[])
      : typeof o.stimulus_user === 'string'
        ? [{ role: 'user', content: o.stimulus_user }]
        : [];
    if (!stimulus.length) throw new Error(`line ${n + 1}: no stimulus ("stimulus_user" or "stimulus")`);
    const qa = ((o.qa ?? []) as unknown[]).map((x): QA =>
      Array.isArray(x) ? { question: String(x[0]), answer: String(x[1]) } : { question: String((x as QA).question), answer: String((x as QA).answer) },
    );
    if (!qa.length) throw new Error(`line ${n + 1}: no QA pairs ("qa")`);
    out.push({ control, controlMessages, stimulus, qa });
  }
  return out;
}

/**
 * Split by control: a seeded `heldOut` fraction of the controls (at least one of each kind when a kind has ≥ 2)
 * goes to the held-out set. The kind is the id's prefix before '-' for Hub/paper labels, else given by `kindOf`.
 */
export function splitByControl(
  items: LqaItem[],
  heldOut: number,
  seed: number,
  kindOf: (control: string) => string = (c) => c.split('-')[0],
): { train: LqaItem[]; test: LqaItem[]; testControls: string[] } {
  const rng = new Rng(mixSeed(seed, 'latentqa:split'));
  const byKind = new Map<string, string[]>();
  for (const c of new Set(items.map((i) => i.control))) {
    const k = kindOf(c);
    byKind.set(k, [...(byKind.get(k) ?? []), c]);
  }
  const test = new Set<string>();
  for (const ids of byKind.values()) {
    const n = ids.length < 2 ? 0 : Math.max(1, Math.round(ids.length * heldOut));
    rng.shuffle([...ids].sort()).slice(0, n).forEach((c) => test.add(c));
  }
  return {
    train: items.filter((i) => !test.has(i.control)),
    test: items.filter((i) => test.has(i.control)),
    testControls: [...test].sort(),
  };
}

/** Kind of a toy persona id (role or goal). */
export function toyKind(control: string): string {
  return PERSONAS.find((p) => p.id === control)?.kind ?? 'role';
}

/**
 * The paper's public eval data (`/work/shared/data/latentqa/eval`): `system.json` items {system, stimulus_user,
 * label} joined with `qa.json` (label → [[question, answer], …]). Items whose label has no QA are skipped.
 */
export function paperItems(systemJson: string, qaJson: string): LqaItem[] {
  const sys = JSON.parse(systemJson) as { system: string; stimulus_user: string; label: string }[];
  const qa = JSON.parse(qaJson) as Record<string, [string, string][]>;
  return sys
    .filter((s) => qa[s.label]?.length)
    .map((s) => ({
      control: s.label,
      controlMessages: [{ role: 'system' as const, content: s.system }],
      stimulus: [{ role: 'user' as const, content: s.stimulus_user }],
      qa: qa[s.label].map(([question, answer]) => ({ question, answer })),
    }));
}

/** Steering QA from the paper's `controls/*.json` ({prompt: [[q, a], …]}): every pair of every prompt. */
export function paperControlQA(json: string): QA[] {
  const c = JSON.parse(json) as Record<string, [string, string][]>;
  return Object.values(c).flat().map(([question, answer]) => ({ question, answer }));
}
