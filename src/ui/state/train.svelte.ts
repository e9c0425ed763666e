// Train page state: the settings of the next run, the run in progress (streamed from the worker), the runs kept in
// IndexedDB (and the one a reload offers to resume), the exported adapter, loaded adapters, and a before/after
// comparison of greedy continuations.
import { callback, type FinetuneProgress, type FinetuneRequest, type LoadedAdapter, type ModelSource, type TrainCheckpointInfo } from '../../workers/client';
import { modelKeyOf } from '../../workers/model-key';
import { explore, parseIds } from './explore.svelte';
import { engine, lab, loadModel, message } from './lab.svelte';

/** PEFT's usual LoRA targets for an architecture: every linear layer of the blocks. */
export function defaultTargets(arch: string): string {
  return arch === 'gpt2' ? 'c_attn, c_proj, c_fc' : 'q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj';
}

export interface RunView {
  runId: string;
  modelId: string;
  state: FinetuneProgress['state'];
  step: number;
  steps: number;
  loss: number;
  tokensPerSec: number;
  peakBytes: number;
  checkpointStep: number;
  error: string;
}

export const train = $state({
  mode: 'text' as 'text' | 'ids',
  data: 'the cat sat on the mat . the dog ran in the park . the sun is hot and the snow is cold .',
  seqLen: 32,
  rank: 4,
  alpha: 8,
  targets: '',
  lr: 0.01,
  steps: 40,
  batchSize: 1,
  seed: 0,
  checkpointEvery: 5,
  maxGradNorm: 1,
  run: null as RunView | null,
  /** Loss of each step of the current run (step i + 1 at index i). */
  losses: [] as number[],
  checkpoints: [] as TrainCheckpointInfo[],
  /** The newest unfinished run in IndexedDB that is not open in this tab. */
  offer: null as TrainCheckpointInfo | null,
  dismissed: '',
  exported: null as { config: string; weights: string; bytes: number } | null,
  adapters: [] as LoadedAdapter[],
  /** Adapter used for "generate with adapter": the current run or a loaded adapter id. */
  adapter: '',
  prompt: 'the cat',
  maxNewTokens: 12,
  compare: null as { base: string; tuned: string; adapter: string } | null,
  busy: '',
  error: '',
});

/** The settings as the worker's request, the data read as text or ids. */
export function request(): FinetuneRequest {
  const targets = train.targets.split(/[\s,]+/).filter(Boolean);
  const data = train.mode === 'ids' ? { ids: parseIds(train.data) } : { text: train.data };
  return {
    ...data,
    seqLen: train.seqLen,
    lora: { rank: train.rank, alpha: train.alpha, targets },
    train: { lr: train.lr, maxGradNorm: train.maxGradNorm },
    steps: train.steps,
    batchSize: train.batchSize,
    seed: train.seed,
    checkpointEvery: train.checkpointEvery,
  };
}

/**
 * A run's progress event into its view and loss history (step i + 1 at index i); false when it changes nothing:
 * another run's, older than what is shown, or a step event that arrived after the pause / cancel answer.
 */
export function applyProgress(r: RunView | null, losses: number[], p: FinetuneProgress): boolean {
  if (!r || r.runId !== p.runId || p.step < r.step) return false;
  if (p.state === 'running' && p.step > 0 && Number.isFinite(p.loss)) {
    losses[p.step - 1] = p.loss;
    losses.length = p.step;
  }
  // Step events come on the callback's own port: one may arrive after the pause/cancel answer; it must not undo it.
  if (p.state === 'running' && r.state !== 'running' && p.step === r.step) return false;
  Object.assign(r, { state: p.state, step: p.step, steps: p.steps, loss: p.loss, tokensPerSec: p.tokensPerSec, peakBytes: p.peakBytes, checkpointStep: p.checkpointStep, error: p.error ?? '' });
  return true;
}

function onProgress(p: FinetuneProgress): void {
  // Events from before the run id was known are dropped (status() catches up).
  if (!applyProgress(train.run, train.losses, p)) return;
  if (['cancelled', 'error', 'closed'].includes(p.state)) {
    if (train.adapter === p.runId) train.adapter = '';
    if (explore.adapter?.id === p.runId) explore.adapter = null;
  }
  if (p.state !== 'running') void refreshCheckpoints();
}

export const runView = (runId: string, modelId: string, steps: number, step = 0): RunView => ({
  runId, modelId, state: 'running', step, steps, loss: NaN, tokensPerSec: 0, peakBytes: 0, checkpointStep: 0, error: '',
});

async function guard(what: string, job: () => Promise<void>): Promise<void> {
  train.busy = what;
  train.error = '';
  try {
    await job();
  } catch (e) {
    train.error = message(e);
  } finally {
    train.busy = '';
  }
}

export const start = () =>
  guard('starting', async () => {
    const m = lab.model;
    if (!m) throw new Error('load a model first');
    if (train.run && (train.run.state === 'running' || train.run.state === 'paused')) throw new Error('a run is in progress: cancel it first');
    const req = request();
    train.losses = [];
    train.exported = null;
    train.compare = null;
    // The run object exists before the first progress event arrives.
    train.run = runView('', m.id, req.steps);
    const pending = train.run;
    try {
      const runId = await engine().startFinetune(m.id, req, callback(onProgress));
      if (train.run === pending) pending.runId = runId;
      train.adapter = runId;
    } catch (e) {
      train.run = null;
      throw e;
    }
    // Progress events that came before the id was known are caught up here.
    const s = await engine().finetuneStatus(train.run!.runId);
    if (train.losses.length < s.losses.length) train.losses = s.losses;
    onProgress(s);
    await refreshCheckpoints();
  });

export const pause = () => guard('pausing', async () => void onProgress(await engine().pauseFinetune(train.run!.runId)));

export const resume = () => guard('resuming', async () => void onProgress(await engine().resumeFinetune(train.run!.runId)));

export const cancel = () =>
  guard('cancelling', async () => {
    const s = await engine().cancelFinetune(train.run!.runId);
    onProgress(s);
    if (train.adapter === s.runId) train.adapter = '';
    await refreshCheckpoints();
  });

export async function refreshCheckpoints(): Promise<void> {
  try {
    // Methods' runs (LatentQA's decoders) are resumed on their pages.
    train.checkpoints = (await engine().listCheckpoints()).filter((c) => !c.method);
  } catch (e) {
    train.error = message(e);
    return;
  }
  const open = train.run?.runId;
  train.offer = train.checkpoints.find((c) => c.status !== 'done' && c.runId !== open && c.key !== train.dismissed) ?? null;
}

function sourceOf(c: TrainCheckpointInfo): ModelSource | null {
  const o = c.origin;
  if (o?.kind === 'url') return { kind: 'url', baseUrl: o.baseUrl, label: o.label ?? c.modelLabel };
  if (o?.kind === 'hub') return { kind: 'hub', repo: o.repo, revision: o.revision, baseUrl: o.baseUrl };
  return null;
}

/** Continue a stored run: loads its model first when another one is loaded (picked files must be picked again). */
export const resumeStored = (c: TrainCheckpointInfo) =>
  guard('resuming', async () => {
    if (train.run && (train.run.state === 'running' || train.run.state === 'paused')) throw new Error('a run is in progress: cancel or finish it first');
    if (!lab.model || modelKeyOf(lab.model) !== c.modelKey) {
      const src = sourceOf(c);
      if (!src) throw new Error(`load ${c.modelLabel} again (it came from picked files), then resume`);
      if (!(await loadModel(src))) throw new Error(lab.error);
    }
    const m = lab.model!;
    Object.assign(train, {
      mode: c.request.text !== undefined ? 'text' : 'ids', seqLen: c.request.seqLen ?? 64, rank: c.request.lora.rank, alpha: c.request.lora.alpha,
      targets: c.request.lora.targets.join(', '), lr: c.request.train.lr, steps: c.steps, batchSize: c.request.batchSize ?? 1,
      seed: c.request.seed ?? 0, checkpointEvery: c.request.checkpointEvery ?? 10, maxGradNorm: c.request.train.maxGradNorm ?? 0,
    });
    if (c.request.text !== undefined) train.data = c.request.text;
    train.losses = c.losses.slice();
    train.exported = null;
    train.compare = null;
    const pending = runView(c.runId, m.id, c.steps, c.step);
    pending.checkpointStep = c.step;
    train.run = pending;
    train.offer = null;
    try {
      await engine().resumeFromCheckpoint(m.id, c.key, callback(onProgress));
    } catch (e) {
      train.run = null;
      throw e;
    }
    train.adapter = c.runId;
    const s = await engine().finetuneStatus(c.runId);
    if (train.losses.length < s.losses.length) train.losses = s.losses;
    onProgress(s);
  });

export const dismissOffer = () => {
  train.dismissed = train.offer?.key ?? '';
  train.offer = null;
};

export const deleteCheckpoint = (key: string) =>
  guard('deleting', async () => {
    await engine().deleteCheckpoint(key);
    await refreshCheckpoints();
  });

/** The current run's adapter as PEFT files, offered as downloads. */
export const exportAdapter = () =>
  guard('exporting', async () => {
    const files = await engine().exportAdapter(train.run!.runId);
    if (train.exported) {
      URL.revokeObjectURL(train.exported.config);
      URL.revokeObjectURL(train.exported.weights);
    }
    const w = files['adapter_model.safetensors'];
    train.exported = {
      config: URL.createObjectURL(new Blob([files['adapter_config.json']], { type: 'application/json' })),
      weights: URL.createObjectURL(new Blob([w as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' })),
      bytes: w.length,
    };
  });

/** An adapter folder (or its two files) picked by the user. */
export const importAdapter = (files: FileList | File[]) =>
  guard('loading adapter', async () => {
    const m = lab.model;
    if (!m) throw new Error('load a model first');
    const byPath: Record<string, Blob> = {};
    for (const f of Array.from(files)) byPath[f.webkitRelativePath || f.name] = f;
    if (!Object.keys(byPath).some((p) => p.endsWith('adapter_config.json'))) throw new Error('pick a PEFT adapter folder: adapter_config.json is not among the files');
    const a = await engine().loadAdapter(m.id, byPath);
    train.adapters = [...train.adapters.filter((x) => x.modelId === m.id), a];
    train.adapter = a.id;
  });

/** Greedy continuation of the prompt without and with the adapter. */
export const compare = () =>
  guard('generating', async () => {
    const m = lab.model;
    if (!m) throw new Error('load a model first');
    if (!train.adapter) throw new Error('train a run or load an adapter first');
    train.compare = null;
    const ids = train.mode === 'ids' || !m.hasTokenizer ? parseIds(train.prompt) : (await engine().tokenize(m.id, train.prompt)).ids;
    const opts = { maxNewTokens: train.maxNewTokens, temperature: 0, stop: [] as number[] };
    const show = async (r: { ids: number[]; text: string }) => (r.text || (await engine().tokenStrings(m.id, r.ids)).join(' '));
    const base = await show(await engine().generate(m.id, ids, opts));
    const tuned = await show(await engine().generate(m.id, ids, { ...opts, adapter: train.adapter }));
    train.compare = { base, tuned, adapter: train.adapter };
  });

/** Apply the chosen adapter to Explore's next-token table and generation. */
export function useInExplore(): void {
  const m = lab.model;
  if (!m || !train.adapter) return;
  const loaded = train.adapters.find((a) => a.id === train.adapter);
  explore.adapter = { id: train.adapter, modelId: m.id, label: loaded ? loaded.label : `training run ${train.adapter}` };
}
