// Run history: every run of an Explore view (inputs, model, results) kept in IndexedDB, newest first,
// and its export / import as JSON. Typed arrays are stored as they are (structured clone) and written
// to JSON as plain arrays (NaN, a cell a cancelled sweep never reached, becomes null).
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';

export type RunKind = 'tokens' | 'lens' | 'attention' | 'patching' | 'steering';

export const RUN_KINDS: RunKind[] = ['tokens', 'lens', 'attention', 'patching', 'steering'];

export interface RunRecord {
  id: string;
  kind: RunKind;
  name: string;
  /** Label of the model it ran on (engine ids are per tab, labels are not). */
  model: string;
  createdAt: number;
  inputs: Record<string, unknown>;
  result: unknown;
}

interface Schema extends DBSchema {
  runs: { key: string; value: RunRecord; indexes: { createdAt: number } };
}

const DB = 'latentlab-runs';
let db: Promise<IDBPDatabase<Schema>> | null = null;
const open = () =>
  (db ??= openDB<Schema>(DB, 1, {
    upgrade(d) {
      d.createObjectStore('runs', { keyPath: 'id' }).createIndex('createdAt', 'createdAt');
    },
  }));

const newId = () => `run-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

export async function saveRun(r: Omit<RunRecord, 'id' | 'createdAt'> & Partial<Pick<RunRecord, 'id' | 'createdAt'>>): Promise<RunRecord> {
  const rec: RunRecord = { ...r, id: r.id ?? newId(), createdAt: r.createdAt ?? Date.now() };
  await (await open()).put('runs', rec);
  return rec;
}

/** Newest first. */
export async function listRuns(): Promise<RunRecord[]> {
  return (await (await open()).getAllFromIndex('runs', 'createdAt')).reverse();
}

export async function getRun(id: string): Promise<RunRecord | undefined> {
  return (await open()).get('runs', id);
}

export async function renameRun(id: string, name: string): Promise<void> {
  const d = await open();
  const r = await d.get('runs', id);
  if (!r) throw new Error(`no run ${id}`);
  await d.put('runs', { ...r, name: name.trim() || r.name });
}

export async function deleteRun(id: string): Promise<void> {
  await (await open()).delete('runs', id);
}

const FORMAT = 'latentlab-runs';

/** JSON of one or more runs: {format, version, runs}. */
export function runsToJson(runs: RunRecord[]): string {
  return JSON.stringify({ format: FORMAT, version: 1, runs }, (_k, v) => (ArrayBuffer.isView(v) && !(v instanceof DataView) ? Array.from(v as Float32Array) : v), 1);
}

/** Parses an export (or a single run) and checks each record's shape; imported runs get fresh ids. */
export function parseRunsJson(text: string): RunRecord[] {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new Error(`not JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  const o = j as { format?: unknown; runs?: unknown };
  const list = o && o.format === FORMAT && Array.isArray(o.runs) ? o.runs : [j];
  return list.map((x, i) => {
    const r = x as Partial<RunRecord>;
    if (!r || typeof r !== 'object' || !RUN_KINDS.includes(r.kind as RunKind) || typeof r.name !== 'string' || r.result === undefined) {
      throw new Error(`entry ${i + 1} is not a LatentLab run (needs kind, name, inputs and result)`);
    }
    return {
      id: newId(),
      kind: r.kind as RunKind,
      name: r.name,
      model: String(r.model ?? ''),
      createdAt: Number(r.createdAt) || Date.now(),
      inputs: (r.inputs ?? {}) as Record<string, unknown>,
      result: r.result,
    };
  });
}

export async function importRuns(text: string): Promise<RunRecord[]> {
  const runs = parseRunsJson(text);
  const d = await open();
  for (const r of runs) await d.put('runs', r);
  return runs;
}
