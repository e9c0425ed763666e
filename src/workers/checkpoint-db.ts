// Training checkpoints in IndexedDB (database "latentlab-training"): per run, a small record (model, settings,
// token ids, step, status, loss history) and the checkpoint bytes (engine/checkpoint.ts: trained tensors, both
// Adam moments, step, data cursor, settings). Both are written in one transaction, so a reload never finds a
// record whose bytes belong to another step.

import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { TrainCheckpointInfo } from './api';
import { findMethod } from '../methods/list';

export interface StoredRun {
  info: TrainCheckpointInfo;
  /** Every training token, in order; examples are cut from them by the run's seqLen (none for a method's run,
   *  whose examples the method rebuilds from its request). */
  ids: number[];
}

interface Schema extends DBSchema {
  runs: { key: string; value: StoredRun };
  checkpoints: { key: string; value: Uint8Array };
}

export const TRAINING_DB = 'latentlab-training';

/** Key of a run's checkpoint: the model it trains on and the run id. */
export const checkpointKey = (modelKey: string, runId: string) => `${modelKey}#${runId}`;

/** A record written before the method kit marked a LatentQA run `latentqa: request`; it reads as a method run. */
function current(info: TrainCheckpointInfo & { latentqa?: Record<string, unknown> }): TrainCheckpointInfo {
  const { latentqa, ...rest } = info;
  return latentqa ? { ...rest, method: { kind: findMethod('latentqa').runKinds[0], request: latentqa } } : info;
}

export class CheckpointDb {
  private db: Promise<IDBPDatabase<Schema>> | null = null;

  constructor(private name = TRAINING_DB) {}

  private open(): Promise<IDBPDatabase<Schema>> {
    if (typeof indexedDB === 'undefined') return Promise.reject(new Error('IndexedDB is not available here: training checkpoints cannot be kept'));
    return (this.db ??= openDB<Schema>(this.name, 1, {
      upgrade(db) {
        db.createObjectStore('runs');
        db.createObjectStore('checkpoints');
      },
    }));
  }

  async save(run: StoredRun, bytes: Uint8Array): Promise<void> {
    const db = await this.open();
    const tx = db.transaction(['runs', 'checkpoints'], 'readwrite');
    const own = bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
    await tx.objectStore('checkpoints').put(own, run.info.key);
    await tx.objectStore('runs').put(run, run.info.key);
    await tx.done;
  }

  /** Change a run's record (its status) without touching its bytes. */
  async update(key: string, patch: Partial<TrainCheckpointInfo>): Promise<void> {
    const db = await this.open();
    const tx = db.transaction('runs', 'readwrite');
    const rec = await tx.store.get(key);
    if (rec) await tx.store.put({ ...rec, info: { ...rec.info, ...patch } }, key);
    await tx.done;
  }

  async get(key: string): Promise<{ run: StoredRun; bytes: Uint8Array } | null> {
    const db = await this.open();
    const tx = db.transaction(['runs', 'checkpoints']);
    const run = await tx.objectStore('runs').get(key);
    const bytes = await tx.objectStore('checkpoints').get(key);
    return run && bytes ? { run: { ...run, info: current(run.info) }, bytes } : null;
  }

  /** Every run's record, newest first. */
  async list(): Promise<TrainCheckpointInfo[]> {
    const db = await this.open();
    return (await db.getAll('runs')).map((r) => current(r.info)).sort((a, b) => b.updatedAt - a.updatedAt);
  }

  async remove(key: string): Promise<boolean> {
    const db = await this.open();
    const tx = db.transaction(['runs', 'checkpoints'], 'readwrite');
    const had = (await tx.objectStore('runs').get(key)) !== undefined;
    await tx.objectStore('runs').delete(key);
    await tx.objectStore('checkpoints').delete(key);
    await tx.done;
    return had;
  }
}
