// Applies a forward's HookSpecs at the moment each activation is produced: reads are snapshotted
// into the pass's single readback, edits run the hook-edit kernel in place before anything downstream
// reads the buffer. With no hooks, at() is a map lookup that finds nothing. Trained tensors (steering
// vectors, soft prompts) enter the same way as TensorEdits, whose backward also gives their gradient.

import type { Pass } from '../gpu/runtime';
import { edit, editValueGrad, type EditArgs } from './ops';
import type { ModelConfig } from './config';
import { hookShape, type HookSpec } from './hooks';
import type { Tape } from './tape';

/** Where an activation lives: rows of `stride` floats, the hook's columns starting at `offset`. */
export interface ActView {
  buf: GPUBuffer;
  stride: number;
  offset: number;
}

/**
 * A GPU tensor edited into a hook point ('pos' layout): added (a steering vector) or written (a soft prompt).
 * It holds one row of the hook's width, broadcast over `positions` (default: all), or one row per position,
 * in the order of `positions`. When it is a trained parameter, its gradient accumulates into the tape's.
 */
export interface TensorEdit {
  name: string;
  op: 'add' | 'replace';
  tensor: GPUBuffer;
  rows: number;
  positions?: number[];
  coeff?: number;
}

export class HookSession {
  private byName = new Map<string, HookSpec[]>();
  private tensorsByName = new Map<string, TensorEdit[]>();
  private reads: Promise<[string, Float32Array]>[] = [];

  constructor(
    private cfg: ModelConfig,
    specs: HookSpec[],
    private pass: Pass,
    private T: number,
    private past: number,
    private tape: Tape | null,
    tensors: TensorEdit[] = [],
  ) {
    for (const e of tensors) {
      if (hookShape(cfg, e.name, T, past + T).layout !== 'pos') throw new Error(`hook ${e.name}: trained tensors cannot edit attention maps`);
      if (e.rows > 1 && e.rows !== e.positions?.length) throw new Error(`hook ${e.name}: a tensor of ${e.rows} rows needs ${e.rows} positions`);
      this.tensorsByName.set(e.name, [...(this.tensorsByName.get(e.name) ?? []), e]);
    }
    for (const s of specs) {
      hookShape(cfg, s.name, T, past + T); // throws on an unknown name
      if (!['read', 'grad', 'seed', 'replace', 'add', 'zero', 'mean'].includes(s.op)) throw new Error(`hook ${s.name}: unknown op "${(s as { op: string }).op}"`);
      if ((s.op === 'grad' || s.op === 'seed') && !tape) throw new Error(`hook ${s.name}: '${s.op}' needs a backward pass (use lossGradients or training)`);
      if (s.op === 'grad' && hookShape(cfg, s.name, 1).layout === 'map') throw new Error(`hook ${s.name}: gradients of attention scores and patterns are not available`);
      const list = this.byName.get(s.name) ?? [];
      list.push(s);
      this.byName.set(s.name, list);
    }
  }

  has(name: string): boolean {
    return this.byName.has(name) || this.tensorsByName.has(name);
  }

  edits(name: string): boolean {
    return this.tensorsByName.has(name) || (this.byName.get(name) ?? []).some((s) => s.op !== 'read' && s.op !== 'grad' && s.op !== 'seed');
  }

  /** Some hook or trained tensor acts inside block i. */
  inBlock(i: number): boolean {
    return [...this.byName.keys(), ...this.tensorsByName.keys()].some((n) => n.startsWith(`blocks.${i}.`));
  }

  /** Some example seeds a gradient: it has a loss even without labels. */
  seeds(): boolean {
    return [...this.byName.values()].some((l) => l.some((s) => s.op === 'seed'));
  }

  /** An edit or a gradient read: either needs the activation apart from any fused sum it feeds. */
  separate(name: string): boolean {
    return this.tensorsByName.has(name) || (this.byName.get(name) ?? []).some((s) => s.op !== 'read');
  }

  /** Apply the hooks on `name` to the activation in `view`; true when an edit changed it. */
  at(name: string, view: ActView): boolean {
    const specs = this.byName.get(name) ?? [];
    const tensors = this.tensorsByName.get(name) ?? [];
    if (!specs.length && !tensors.length) return false;
    const shape = hookShape(this.cfg, name, this.T, this.past + this.T);
    const isMap = shape.layout === 'map';
    const width = isMap ? shape.dims[2] : shape.dims.slice(1).reduce((a, b) => a * b, 1);
    const mapHeads = isMap ? shape.dims[0] : 0;
    const total = isMap ? mapHeads * this.T * width : this.T * width;
    let edited = false;
    for (const s of specs) {
      if (s.op === 'read') {
        this.reads.push(this.snapshot(name, view, width, isMap, total));
        continue;
      }
      if (s.op === 'grad') {
        // Runs during backward, once everything downstream has added its share to the gradient.
        const tape = this.tape!;
        this.tape!.record(() => this.reads.push(this.snapshot(`${name}.grad`, { ...view, buf: tape.grad(view.buf) }, width, isMap, total)));
        continue;
      }
      const mask = this.masks(s, shape.headDim, mapHeads, 'value' in s && s.value.length === total && !isMap);
      if (!mask) continue;
      if (s.op === 'seed' && isMap) throw new Error(`hook ${name}: gradients cannot be seeded into attention maps`);
      let value = this.pass.rt.unused(2);
      let valueRows = 1;
      if (s.op !== 'zero') {
        const v = s.value;
        if (v.length === total) valueRows = this.T;
        else if (v.length !== width || isMap) {
          const want = isMap ? `${total} (heads × positions × keys)` : `${width} (one row) or ${total} (positions × ${width})`;
          throw new Error(`hook ${name}: ${s.op} value has ${v.length} numbers, expected ${want}`);
        }
        value = this.upload(Float32Array.from(v));
      }
      const args: EditArgs = {
        X: view.buf,
        T: this.T,
        width,
        rowStride: view.stride,
        colOffset: view.offset,
        headDim: shape.headDim,
        mapHeads,
        mode: s.op === 'add' ? 'add' : s.op === 'zero' ? 'zero' : 'replace',
        value,
        valueRows,
        coeff: s.op === 'add' ? (s.coeff ?? 1) : 1,
        posMask: mask.pos,
        headMask: mask.head,
      };
      if (s.op === 'seed') {
        // d loss / d activation += value, added when the backward reaches this point.
        const tape = this.tape!;
        tape.record(() => edit(this.pass, { ...args, X: tape.grad(view.buf), mode: 'add' }));
        continue;
      }
      edit(this.pass, args);
      // Backward of an in-place overwrite: what was overwritten gets no gradient. Adding passes it through.
      if (this.tape && s.op !== 'add') {
        const tape = this.tape;
        tape.record(() => edit(this.pass, { ...args, X: tape.grad(view.buf), mode: 'zero' }));
      }
      edited = true;
    }
    for (const e of tensors) edited = this.tensorEdit(e, view, width, shape.headDim) || edited;
    return edited;
  }

  private tensorEdit(e: TensorEdit, view: ActView, width: number, headDim: number): boolean {
    const pos = new Uint32Array(this.T);
    (e.positions ?? Array.from({ length: this.T }, (_, t) => this.past + t)).forEach((p, j) => {
      if (!Number.isInteger(p) || p < 0) throw new Error(`hook ${e.name}: position ${p} is not a non-negative integer`);
      if (p >= this.past && p < this.past + this.T) pos[p - this.past] = e.rows > 1 ? j + 1 : 1;
    });
    if (!pos.some((x) => x)) return false;
    const nHeads = headDim ? width / headDim : 1;
    const args: EditArgs = {
      X: view.buf, T: this.T, width, rowStride: view.stride, colOffset: view.offset, headDim, mapHeads: 0,
      mode: e.op, value: e.tensor, valueRows: e.rows, coeff: e.op === 'add' ? (e.coeff ?? 1) : 1,
      posMask: this.upload(pos), headMask: this.upload(new Uint32Array(nHeads).fill(1)),
    };
    edit(this.pass, args);
    if (this.tape) {
      const tape = this.tape;
      tape.record(() => {
        const dX = tape.grad(view.buf);
        const dValue = tape.paramGrad(e.tensor);
        if (dValue) editValueGrad(this.pass, args, dX, dValue);
        // What a soft prompt overwrote gets no gradient.
        if (e.op === 'replace') edit(this.pass, { ...args, X: dX, mode: 'zero' });
      });
    }
    return true;
  }

  /** All reads, once the pass has been submitted. */
  async results(): Promise<Record<string, Float32Array>> {
    return Object.fromEntries(await Promise.all(this.reads));
  }

  private async snapshot(name: string, view: ActView, width: number, isMap: boolean, total: number): Promise<[string, Float32Array]> {
    if (isMap || (view.stride === width && view.offset === 0)) return [name, await this.pass.read(view.buf, total * 4)];
    // A column slice of a fused buffer (q|k|v, gate|up): read the rows, keep the hook's columns.
    const rows = await this.pass.read(view.buf, this.T * view.stride * 4);
    const out = new Float32Array(total);
    for (let t = 0; t < this.T; t++) out.set(rows.subarray(t * view.stride + view.offset, t * view.stride + view.offset + width), t * width);
    return [name, out];
  }

  /** Position and head masks, or null when the edit touches nothing in this call. A full value gives position t its row t. */
  private masks(s: HookSpec, headDim: number, mapHeads: number, full: boolean): { pos: GPUBuffer; head: GPUBuffer } | null {
    const pos = new Uint32Array(this.T);
    const row = (t: number) => (full ? t + 1 : 1);
    if (s.positions) {
      for (const p of s.positions) {
        if (!Number.isInteger(p) || p < 0) throw new Error(`hook ${s.name}: position ${p} is not a non-negative integer`);
        if (p >= this.past && p < this.past + this.T) pos[p - this.past] = row(p - this.past);
      }
      if (!pos.some((x) => x)) return null;
    } else pos.forEach((_, t) => (pos[t] = row(t)));
    const nHeads = mapHeads || (headDim ? (s.name.endsWith('hook_k') || s.name.endsWith('hook_v') ? this.cfg.nKvHeads : this.cfg.nHeads) : 1);
    const head = new Uint32Array(nHeads);
    if (s.heads) {
      if (!headDim && !mapHeads) throw new Error(`hook ${s.name}: has no head axis, so "heads" cannot be given`);
      for (const h of s.heads) {
        if (!Number.isInteger(h) || h < 0 || h >= nHeads) throw new Error(`hook ${s.name}: head ${h} is out of range 0..${nHeads - 1}`);
        head[h] = 1;
      }
    } else head.fill(1);
    return { pos: this.upload(pos), head: this.upload(head) };
  }

  private upload(data: Float32Array | Uint32Array): GPUBuffer {
    const b = this.pass.scratchBuffer(data.byteLength);
    this.pass.rt.write(b, data);
    return b;
  }
}
