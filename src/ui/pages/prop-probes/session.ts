// The propositional-probes pipeline driven from the page: the worker as the ProbeBackend (forward and gradients
// cross the worker boundary as plain data), a piece encoder whose tokenisations are fetched from the worker ahead of
// time (the pipeline encodes synchronously), and the fit cached in IndexedDB per model, layers and rank.
import { openDB, type IDBPDatabase } from 'idb';
import type { EngineApi } from '../../../workers/api';
import { buildVocab } from '../../../toyworld/tokenizer';
import { pieceEncoder } from '../../../methods/prop-probes/data';
import { fitFromJson, fitToJson, type PropProbeFit } from '../../../methods/prop-probes/pipeline';
import type { PieceEncoder, ProbeBackend } from '../../../methods/prop-probes/types';

/** The subset of the worker API used here (the comlink proxy satisfies it; so does createEngineApi in tests). */
export type ProbeEngine = Pick<EngineApi, 'forward' | 'gradients' | 'tokenize'>;

export function workerBackend(api: ProbeEngine, modelId: string, d: number, nLayers: number): ProbeBackend {
  return {
    d,
    nLayers,
    async forward(ids, hooks) {
      const r = await api.forward(modelId, ids, { hooks, logits: 'last' });
      return { last: r.logits, cache: r.cache };
    },
    gradients: (ids, labels, hooks) => api.gradients(modelId, ids, labels, hooks),
  };
}

/** An encoder that answers from a table filled by `prepare` (every piece the toy-world generator can produce). */
export interface MemoEncoder extends PieceEncoder {
  prepare(pieces: string[]): Promise<void>;
}

export async function memoEncoder(api: ProbeEngine, modelId: string, bos: number | null): Promise<MemoEncoder> {
  const table = new Map<string, number[]>();
  const raw = async (t: string) => (await api.tokenize(modelId, t, { addSpecialTokens: false })).ids;
  const bosIds = await raw('<bos>');
  const toy = bosIds.length === 1 && (await raw('Greg nurse physicist Paris')).length === 4;
  const enc: MemoEncoder = {
    ...pieceEncoder((p) => {
      const key = toy ? p.trim() : p;
      const ids = table.get(key);
      if (!ids) throw new Error(`piece ${JSON.stringify(p)} was not tokenised ahead of time`);
      return ids;
    }, toy ? bosIds[0] : bos, toy ? 'words' : 'english'),
    async prepare(pieces) {
      const want = [...new Set(pieces.map((p) => (toy ? p.trim() : p)))].filter((p) => !table.has(p));
      const got = await Promise.all(want.map(raw));
      want.forEach((p, i) => table.set(p, got[i]));
    },
  };
  // Every word the toy world writes, with and without a leading space.
  await enc.prepare(buildVocab().flatMap((w) => [w, ` ${w}`]));
  return enc;
}

/** Words and punctuation of typed text, as the generator's canonical form (single spaces). */
export function canonical(text: string): string {
  return (text.match(/<[^>\s]+>|[\p{L}\p{N}'’-]+|[^\s\p{L}\p{N}]/gu) ?? []).join(' ');
}

const DB = 'latentlab-prop-probes';
let db: Promise<IDBPDatabase> | null = null;
const open = () => (db ??= openDB(DB, 1, { upgrade: (d) => void d.createObjectStore('fits') }));

export const fitKey = (model: string, probeLayer: number, bindingLayer: number, k: number) => `${model}|probe${probeLayer}|bind${bindingLayer}|k${k}`;

export async function cachedFit(key: string): Promise<PropProbeFit | null> {
  const j = await (await open()).get('fits', key);
  return j ? fitFromJson(j) : null;
}

export async function storeFit(key: string, fit: PropProbeFit): Promise<void> {
  await (await open()).put('fits', fitToJson(fit), key);
}

/** Save text as a file (export buttons). */
export function download(name: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
