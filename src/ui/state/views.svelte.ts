// State of the Explore views beyond the token table: logit lens, attention, activation patching, steering,
// and the run history. Every computation is a worker call; every finished run is saved to IndexedDB.
import { methods, type LogitLensResult, type MethodProgress, type PatchingProgress, type PatchingResult, type StreamedPiece, type TopToken } from '../../workers/client';
import type Explore from '../../methods/explore/method';
import { PATCHING, PROMPTS, STEERING } from '../../methods/explore/examples';
import { explore, scheduleAnalyze, tokensOf, type ShownToken } from './explore.svelte';
import { engine, lab, message } from './lab.svelte';
import { deleteRun, importRuns, listRuns, renameRun, saveRun, type RunKind, type RunRecord } from './runs';
import { parseVectorFile } from '../../methods/explore/vector-file';

export type ViewId = 'tokens' | 'lens' | 'attention' | 'patching' | 'steering' | 'runs';

export const views = $state({
  tab: 'tokens' as ViewId,
  /** Runs, newest first. */
  runs: [] as RunRecord[],
  runsError: '',
});

/** Which saved run a view is showing (its name and model), '' for a fresh computation. */
export const opened = $state({ lens: '', attention: '', patching: '', steering: '', tokens: '' } as Record<RunKind, string>);

/** Explore's analyses (src/methods/explore), run in the worker: the same calls as `latentlab lens | patch | steer`. */
const analyses = () => methods<typeof Explore>(engine(), 'explore');

/**
 * Puts the loaded model's example inputs (in its vocabulary: src/methods/explore/examples.ts) into the forms that
 * still hold an example; what the user wrote stays.
 */
export async function offerExamples(modelId: string): Promise<void> {
  const ex = await analyses().examples(modelId, {});
  if (ex.prompt && PROMPTS.includes(explore.prompt)) explore.prompt = ex.prompt;
  const p = patching.form;
  if (ex.patching && PATCHING.some((c) => c.clean === p.clean && c.corrupt === p.corrupt && c.answer === p.answer && c.wrong === p.wrong)) Object.assign(p, ex.patching);
  const st = steering.form;
  const text = (c: { positive: string[]; negative: string[]; prompt: string }) => ({ positive: c.positive.join('\n'), negative: c.negative.join('\n'), prompt: c.prompt });
  if (ex.steering && STEERING.some((c) => { const t = text(c); return t.positive === st.positive && t.negative === st.negative && t.prompt === st.prompt; })) Object.assign(st, text(ex.steering));
}

// ---------------------------------------------------------------- runs

export async function refreshRuns(): Promise<void> {
  try {
    views.runs = await listRuns();
    views.runsError = '';
  } catch (e) {
    views.runsError = `run history: ${message(e)}`;
  }
}

async function record(kind: RunKind, title: string, inputs: Record<string, unknown>, result: unknown): Promise<void> {
  try {
    // $state proxies cannot be cloned into IndexedDB: store plain snapshots.
    await saveRun({ kind, name: `${kind}: ${title}`, model: lab.model?.label ?? '', inputs: $state.snapshot(inputs), result: $state.snapshot(result) });
    await refreshRuns();
  } catch (e) {
    views.runsError = `could not save the run: ${message(e)}`;
  }
}

export async function rename(id: string, name: string): Promise<void> {
  await renameRun(id, name);
  await refreshRuns();
}

export async function remove(id: string): Promise<void> {
  await deleteRun(id);
  await refreshRuns();
}

export async function importFile(file: File): Promise<number> {
  const runs = await importRuns(await file.text());
  await refreshRuns();
  return runs.length;
}

const short = (s: string, n = 40) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const label = (r: RunRecord) => `${r.name} · ${r.model}`;

/** Shows a saved run in its view (the results as saved: nothing is recomputed). */
export function reopen(r: RunRecord): void {
  const i = r.inputs as Record<string, never>;
  switch (r.kind) {
    case 'tokens': {
      const x = r.result as { tokens?: ShownToken[]; top?: TopToken[]; generated?: ShownToken[] };
      explore.prompt = String(i.prompt ?? '');
      if (i.mode === 'text' || i.mode === 'ids') explore.mode = i.mode;
      explore.chat = !!i.chat;
      explore.tokens = x.tokens ?? [];
      explore.top = x.top ?? [];
      explore.generated = x.generated ?? [];
      break;
    }
    case 'lens':
      sharedPrompt(i);
      lens.run = r.result as LensRun;
      break;
    case 'attention':
      sharedPrompt(i);
      attention.run = r.result as AttentionRun;
      attention.selected = null;
      break;
    case 'patching':
      Object.assign(patching.form, i);
      patching.run = r.result as PatchingRun;
      patching.tick++;
      break;
    case 'steering':
      Object.assign(steering.form, i);
      steering.run = r.result as SteeringRun;
      break;
  }
  opened[r.kind] = label(r);
  views.tab = r.kind;
}

/** The shared prompt box shows the run's input again (its token strip and next-token table are recomputed). */
function sharedPrompt(i: Record<string, unknown>): void {
  if (typeof i.prompt !== 'string') return;
  explore.prompt = i.prompt;
  if (i.mode === 'text' || (i.mode === 'ids' && lab.model)) explore.mode = i.mode;
  if (!lab.model?.hasTokenizer) explore.mode = 'ids';
  explore.chat = !!i.chat && !!lab.model?.hasChatTemplate;
  scheduleAnalyze(0);
}

// ---------------------------------------------------------------- logit lens

export interface LensRun {
  tokens: ShownToken[];
  lens: LogitLensResult;
}

export const lens = $state({ run: null as LensRun | null, busy: false, error: '', k: 5 });

export async function runLens(): Promise<void> {
  const m = lab.model;
  if (!m || lens.busy) return;
  lens.busy = true;
  lens.error = '';
  try {
    const tokens = await tokensOf(m.id, explore.prompt);
    if (!tokens.length) throw new Error('the input has no tokens');
    lens.k = Math.max(1, Math.min(20, Math.round(Number(lens.k)) || 5));
    const result = await analyses().lens(m.id, { ids: tokens.map((t) => t.id), k: lens.k });
    lens.run = { tokens, lens: result };
    opened.lens = '';
    await record('lens', short(explore.prompt), { prompt: explore.prompt, mode: explore.mode, chat: explore.chat, k: lens.k }, lens.run);
  } catch (e) {
    lens.error = message(e);
  } finally {
    lens.busy = false;
  }
}

// ---------------------------------------------------------------- attention

export interface AttentionRun {
  tokens: ShownToken[];
  layers: number;
  heads: number;
  /** Per layer, [heads × T × T] (query rows, key columns). */
  patterns: Float32Array[];
}

export const attention = $state({
  run: null as AttentionRun | null,
  busy: false,
  error: '',
  /** Enlarged head. */
  selected: null as { layer: number; head: number } | null,
  /** Token the pointer is on: its row and column are highlighted. */
  focus: null as number | null,
});

/** Patterns kept per run (32 MiB of f32): every run is also stored in IndexedDB. */
const ATTENTION_MAX_FLOATS = 8 * 2 ** 20;

export async function runAttention(): Promise<void> {
  const m = lab.model;
  if (!m || attention.busy) return;
  attention.busy = true;
  attention.error = '';
  try {
    const tokens = await tokensOf(m.id, explore.prompt);
    if (!tokens.length) throw new Error('the input has no tokens');
    const L = m.config.nLayers;
    const floats = L * m.config.nHeads * tokens.length ** 2;
    if (floats > ATTENTION_MAX_FLOATS) {
      throw new Error(`${tokens.length} tokens make ${(floats / 1e6).toFixed(0)}M attention weights over ${L} layers × ${m.config.nHeads} heads; shorten the prompt (at most ${Math.floor(Math.sqrt(ATTENTION_MAX_FLOATS / (L * m.config.nHeads)))} tokens for this model)`);
    }
    const names = Array.from({ length: L }, (_, l) => `blocks.${l}.attn.hook_pattern`);
    const r = await engine().forward(m.id, tokens.map((t) => t.id), { hooks: names.map((name) => ({ name, op: 'read' })), logits: 'none' });
    attention.run = { tokens, layers: L, heads: m.config.nHeads, patterns: names.map((n) => r.cache[n]) };
    attention.selected = null;
    opened.attention = '';
    await record('attention', short(explore.prompt), { prompt: explore.prompt, mode: explore.mode, chat: explore.chat }, attention.run);
  } catch (e) {
    attention.error = message(e);
  } finally {
    attention.busy = false;
  }
}

// ---------------------------------------------------------------- activation patching

export interface PatchingRun {
  clean: ShownToken[];
  corrupt: ShownToken[];
  answer: ShownToken;
  wrong: ShownToken;
  result: PatchingResult;
}

export const patching = $state({
  form: { clean: 'Paris is the capital of France', corrupt: 'Rome is the capital of France', answer: 'Paris', wrong: 'Rome', resid: true, heads: true },
  run: null as PatchingRun | null,
  busy: false,
  cancelling: false,
  progress: { done: 0, total: 0 },
  error: '',
  /** Bumped when the grids' values change in place (typed arrays are not reactive). */
  tick: 0,
});

/** One token from "#17" or from text that tokenizes to exactly one token. */
async function oneToken(modelId: string, text: string, what: string): Promise<ShownToken> {
  const t = text.trim();
  const m = /^#?(\d+)$/.exec(t);
  if (m && (t.startsWith('#') || explore.mode === 'ids' || !lab.model?.hasTokenizer)) {
    const id = Number(m[1]);
    return { id, text: (await engine().tokenStrings(modelId, [id]))[0] };
  }
  if (!lab.model?.hasTokenizer) throw new Error(`the ${what} must be a token id (this model has no tokenizer)`);
  const r = await engine().tokenize(modelId, text, { addSpecialTokens: false });
  if (r.ids.length !== 1) throw new Error(`the ${what} "${text}" is ${r.ids.length} tokens (${r.tokens.join(' | ')}); use one token, or #id`);
  return { id: r.ids[0], text: r.tokens[0] };
}

export async function runPatching(): Promise<void> {
  const m = lab.model;
  if (!m || patching.busy) return;
  patching.busy = true;
  patching.cancelling = false;
  patching.error = '';
  try {
    const f = patching.form;
    const [clean, corrupt] = [await tokensOf(m.id, f.clean), await tokensOf(m.id, f.corrupt)];
    if (clean.length !== corrupt.length) {
      throw new Error(`the clean prompt is ${clean.length} tokens and the corrupted one ${corrupt.length}: patching needs prompts of the same length in tokens`);
    }
    const answer = await oneToken(m.id, f.answer, 'answer');
    const wrong = await oneToken(m.id, f.wrong, 'wrong answer');
    const L = m.config.nLayers;
    const T = clean.length;
    const H = m.config.nHeads;
    // Empty grids first, filled cell by cell as the worker reports them.
    const grid = (rows: number, cols: number, rowLabels: string[]) => ({ rows, cols, rowLabels, values: new Float32Array(rows * cols).fill(NaN) });
    const live: PatchingRun = {
      clean,
      corrupt,
      answer,
      wrong,
      result: {
        metricClean: NaN,
        metricCorrupt: NaN,
        resid: f.resid ? grid(L + 1, T, [...Array.from({ length: L }, (_, l) => `resid_pre ${l}`), 'final']) : null,
        heads: f.heads ? grid(L, H, Array.from({ length: L }, (_, l) => `layer ${l}`)) : null,
        done: 0,
        total: 0,
        cancelled: false,
        ms: 0,
      },
    };
    patching.run = live;
    opened.patching = '';
    patching.progress = { done: 0, total: (f.resid ? (L + 1) * T : 0) + (f.heads ? L * H : 0) };
    const result = await analyses().patch(
      m.id,
      { clean: clean.map((t) => t.id), corrupt: corrupt.map((t) => t.id), answer: answer.id, wrong: wrong.id, resid: f.resid, heads: f.heads },
      (p: MethodProgress) => {
        const cell = p.detail as PatchingProgress;
        const g = patching.run?.result[cell.grid];
        if (g) g.values[cell.row * g.cols + cell.col] = cell.value;
        patching.progress = { done: cell.done, total: cell.total };
        patching.tick++;
      },
    );
    patching.run = { ...live, result };
    patching.tick++;
    await record('patching', `${short(f.clean, 24)} / ${short(f.corrupt, 24)}${result.cancelled ? ' (cancelled)' : ''}`, { ...f }, patching.run);
  } catch (e) {
    patching.error = message(e);
  } finally {
    patching.busy = false;
    patching.cancelling = false;
  }
}

export function cancelPatching(): void {
  const m = lab.model;
  if (!patching.busy || !m) return;
  patching.cancelling = true;
  void analyses().cancel(m.id);
}

// ---------------------------------------------------------------- steering

export interface SteeringRun {
  hook: string;
  coeff: number;
  vector: number[];
  prompt: string;
  unsteered: ShownToken[];
  steered: ShownToken[];
}

export const steering = $state({
  form: {
    layer: 0,
    stream: 'hook_resid_pre' as 'hook_resid_pre' | 'hook_resid_post',
    positive: 'good day\nthe sun is hot',
    negative: 'bad night\nthe snow is cold',
    coeff: 4,
    prompt: 'the cat',
    maxNewTokens: 16,
  },
  vector: null as number[] | null,
  /** Where the vector came from (prompt sets at a hook, or a file). */
  vectorFrom: '',
  vectorHook: '',
  busy: '',
  error: '',
  run: null as SteeringRun | null,
});

export const steeringHook = () => `blocks.${steering.form.layer}.${steering.form.stream}`;

const lines = (s: string) => s.split('\n').map((l) => l.trim()).filter(Boolean);

export async function computeVector(): Promise<void> {
  const m = lab.model;
  if (!m || steering.busy) return;
  steering.busy = 'vector';
  steering.error = '';
  try {
    const f = steering.form;
    const ids = async (set: string[]) => Promise.all(set.map(async (p) => (await tokensOf(m.id, p, false)).map((t) => t.id)));
    const positive = await ids(lines(f.positive));
    const negative = await ids(lines(f.negative));
    if (!positive.length || !negative.length) throw new Error('write at least one prompt in each set (one per line)');
    const hook = steeringHook();
    const v = await analyses().steeringVector(m.id, { hook, positive, negative });
    steering.vector = Array.from(v);
    steering.vectorHook = hook;
    steering.vectorFrom = `mean ${hook} over ${positive.length} vs ${negative.length} prompts`;
  } catch (e) {
    steering.error = message(e);
  } finally {
    steering.busy = '';
  }
}

export async function loadVector(file: File): Promise<void> {
  const m = lab.model;
  if (!m) return;
  steering.error = '';
  try {
    const got = parseVectorFile(file.name, new Uint8Array(await file.arrayBuffer()), m.config.hidden);
    if (got.hook && m.hookNames.includes(got.hook)) {
      const g = /^blocks\.(\d+)\.(hook_resid_pre|hook_resid_post)$/.exec(got.hook);
      if (g) [steering.form.layer, steering.form.stream] = [Number(g[1]), g[2] as 'hook_resid_pre' | 'hook_resid_post'];
    }
    steering.vector = Array.from(got.vector);
    steering.vectorHook = steeringHook();
    steering.vectorFrom = `file ${file.name}`;
  } catch (e) {
    steering.error = message(e);
  }
}

/** Unsteered, then steered (the vector × coefficient added at every position of the chosen stream), both streamed. */
export async function runSteering(): Promise<void> {
  const m = lab.model;
  if (!m || steering.busy) return;
  steering.error = '';
  if (!steering.vector) {
    steering.error = 'compute a steering vector from the two prompt sets, or load one from a file, first';
    return;
  }
  steering.busy = 'generate';
  try {
    const f = steering.form;
    const tokens = await tokensOf(m.id, f.prompt);
    if (!tokens.length) throw new Error('the prompt has no tokens');
    const hook = steeringHook();
    const vector = steering.vector.slice();
    const coeff = Number(f.coeff);
    const run: SteeringRun = { hook, coeff, vector, prompt: f.prompt, unsteered: [], steered: [] };
    steering.run = run;
    opened.steering = '';
    const r = await analyses().steer(
      m.id,
      { ids: tokens.map((t) => t.id), hook, vector, coeff, maxNewTokens: f.maxNewTokens },
      (p: MethodProgress) => {
        const t = p.detail as StreamedPiece;
        if (p.stage === 'unsteered' || p.stage === 'steered') steering.run![p.stage][t.index] = { id: t.id, text: t.text };
      },
    );
    // Progress is fire and forget: the result is what counts.
    const shown = (c: { ids: number[]; pieces: string[] }) => c.ids.map((id, i) => ({ id, text: c.pieces[i] }));
    steering.run = { ...run, unsteered: shown(r.unsteered), steered: shown(r.steered) };
    await record('steering', `${short(f.prompt, 24)} × ${coeff} at ${hook}`, { ...f, vectorFrom: steering.vectorFrom }, steering.run);
  } catch (e) {
    steering.error = message(e);
  } finally {
    steering.busy = '';
  }
}

// ---------------------------------------------------------------- the token view's generations

export async function recordGeneration(): Promise<void> {
  if (!explore.generated.length) return;
  await record('tokens', short(explore.prompt), { prompt: explore.prompt, mode: explore.mode, chat: explore.chat, maxNewTokens: explore.maxNewTokens }, { tokens: explore.tokens, top: explore.top, generated: explore.generated });
}
