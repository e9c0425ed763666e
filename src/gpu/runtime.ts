// The GPU runtime every op goes through: a pipeline cache keyed by shader and constants, a buffer pool,
// and a Pass that records one command encoder per forward with all uniforms written in one upload.
//
// Ownership rule (the only one): a GPUBuffer taken from the pool belongs to whoever took it until it is
// given back with release(); a Pass's scratch buffers are given back by Pass.finish(). Model weights are
// created with createStatic() and destroyed by the model's dispose().

import type { Gpu } from './device';

export type Constants = Record<string, number>;

const UNIFORM_ALIGN = 256;
// Read at call time: in Node the GPU globals exist only once the device has been opened.
const storageUsage = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

export class Runtime {
  readonly device: GPUDevice;
  private modules = new Map<string, { module: GPUShaderModule; bgl: GPUBindGroupLayout; layout: GPUPipelineLayout }>();
  private layouts = new Map<GPUComputePipeline, GPUBindGroupLayout>();
  private pipelines = new Map<string, GPUComputePipeline>();
  private free = new Map<number, GPUBuffer[]>();
  /** 16-byte buffers bound where a kernel's optional binding is absent, one per binding slot (writable bindings may not alias). */
  private placeholders = new Map<number, GPUBuffer>();
  pooledBytes = 0;

  constructor(readonly gpu: Gpu) {
    this.device = gpu.device;
    this.device.addEventListener("uncapturederror", (e) => { console.error("ERR", (e as GPUUncapturedErrorEvent).error.message); this.errors.push((e as GPUUncapturedErrorEvent).error.message); });
  }

  pipeline(name: string, code: string, entry: string, constants: Constants = {}): GPUComputePipeline {
    const key = `${name}:${entry}:${JSON.stringify(constants)}`;
    let p = this.pipelines.get(key);
    if (p) return p;
    let shader = this.modules.get(name);
    if (!shader) {
      const bgl = this.bindGroupLayout(name, code);
      shader = {
        module: this.device.createShaderModule({ label: name, code }),
        bgl,
        layout: this.device.createPipelineLayout({ bindGroupLayouts: [bgl] }),
      };
      this.modules.set(name, shader);
    }
    p = this.device.createComputePipeline({
      label: key,
      layout: shader.layout,
      compute: { module: shader.module, entryPoint: entry, constants },
    });
    this.pipelines.set(key, p);
    this.layouts.set(p, shader.bgl);
    return p;
  }

  /** The placeholder for binding slot `slot` of a kernel whose optional input or output is absent. */
  unused(slot: number): GPUBuffer {
    let b = this.placeholders.get(slot);
    if (!b) this.placeholders.set(slot, (b = this.createStatic(new Float32Array(4), `unused-${slot}`)));
    return b;
  }

  /** Validation errors the device reported since the last check (error scopes hang in Dawn's Node build). */
  private errors: string[] = [];

  throwIfInvalid(): void {
    if (this.errors.length) {
      const msg = this.errors.join('\n');
      this.errors = [];
      throw new Error(`WebGPU rejected the work: ${msg}`);
    }
  }

  layoutOf(p: GPUComputePipeline): GPUBindGroupLayout {
    return this.layouts.get(p)!;
  }

  /**
   * One explicit layout per shader file, read off its declarations, so every entry point and every
   * constant specialisation binds the same buffers (an 'auto' layout drops bindings an entry doesn't use).
   */
  private bindGroupLayout(name: string, code: string): GPUBindGroupLayout {
    const entries: GPUBindGroupLayoutEntry[] = [];
    const re = /@group\(0\)\s*@binding\((\d+)\)\s*var<(\w+)(?:,\s*(\w+))?>/g;
    for (const m of code.matchAll(re)) {
      const type: GPUBufferBindingType = m[2] === 'uniform' ? 'uniform' : m[3] === 'read_write' ? 'storage' : 'read-only-storage';
      entries.push({ binding: Number(m[1]), visibility: GPUShaderStage.COMPUTE, buffer: { type } });
    }
    return this.device.createBindGroupLayout({ label: name, entries });
  }

  /** A pooled storage buffer of at least `bytes` (rounded to 16); give it back with release(). */
  take(bytes: number): GPUBuffer {
    const size = Math.max(16, Math.ceil(bytes / 16) * 16);
    const list = this.free.get(size);
    if (list && list.length) {
      this.pooledBytes -= size;
      return list.pop()!;
    }
    return this.device.createBuffer({ size, usage: storageUsage() });
  }

  release(buf: GPUBuffer): void {
    let list = this.free.get(buf.size);
    if (!list) this.free.set(buf.size, (list = []));
    list.push(buf);
    this.pooledBytes += buf.size;
  }

  /** A buffer holding `data`, outside the pool (weights, constant tables). */
  createStatic(data: ArrayBufferView, label?: string): GPUBuffer {
    const size = Math.max(16, Math.ceil(data.byteLength / 16) * 16);
    const buf = this.device.createBuffer({ size, usage: storageUsage(), mappedAtCreation: true, label });
    new Uint8Array(buf.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    buf.unmap();
    return buf;
  }

  write(buf: GPUBuffer, data: ArrayBufferView, offsetBytes = 0): void {
    this.device.queue.writeBuffer(buf, offsetBytes, data.buffer, data.byteOffset, data.byteLength);
  }

  /** Drop every pooled buffer (after a model is disposed). */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.pooledBytes = 0;
  }
}

export interface Binding {
  buffer: GPUBuffer;
  offset?: number;
  size?: number;
}

interface PendingRead {
  src: GPUBuffer;
  srcOffset: number;
  bytes: number;
  resolve: (data: Float32Array) => void;
}

/** One forward (or one step): records dispatches into a single encoder, submits once, reads back once. */
export class Pass {
  private encoder: GPUCommandEncoder;
  private pass: GPUComputePassEncoder | null = null;
  private uniformData: Uint8Array = new Uint8Array(4096);
  private uniformUsed = 0;
  private uniformBuf: GPUBuffer | null = null;
  private scratch: GPUBuffer[] = [];
  private fresh: GPUBuffer[] = [];
  private reads: (PendingRead & { at: number })[] = [];
  /** Recorded work, encoded in order at submit (the uniform buffer must exist first). */
  private ops: (() => void)[] = [];
  private staging: GPUBuffer | null = null;
  private readBytes = 0;
  dispatches = 0;
  /** Bytes of scratch storage this pass holds (all of it is live until submit): the pass's peak. */
  scratchBytes = 0;
  /** Released storage by size, handed out again inside recycling(). */
  private spare = new Map<number, GPUBuffer[]>();
  /** Buffers taken inside the current recycling() call. */
  private taken: GPUBuffer[] | null = null;

  constructor(readonly rt: Runtime) {
    this.encoder = rt.device.createCommandEncoder();
  }

  /** Scratch storage given back to the pool when the pass finishes. */
  scratchBuffer(bytes: number): GPUBuffer {
    const b = this.reuse(bytes);
    if (b) return b;
    const fresh = this.rt.take(bytes);
    this.scratch.push(fresh);
    this.scratchBytes += fresh.size;
    this.taken?.push(fresh);
    return fresh;
  }

  /**
   * Record `fn`'s work handing it, where sizes match, storage released earlier in this pass (stream order
   * makes that safe). Nothing inside may write a buffer from the CPU: such a write lands before the pass
   * runs. Returns the buffers `fn` took.
   */
  recycling(fn: () => void): GPUBuffer[] {
    const outer = this.taken;
    const taken: GPUBuffer[] = (this.taken = []);
    try {
      fn();
    } finally {
      this.taken = outer;
      outer?.push(...taken);
    }
    return taken;
  }

  /** Storage that nothing recorded later reads: recycling() may hand it out again. */
  release(bufs: GPUBuffer[]): void {
    for (const b of new Set(bufs)) {
      const list = this.spare.get(b.size) ?? [];
      list.push(b);
      this.spare.set(b.size, list);
    }
  }

  private reuse(bytes: number): GPUBuffer | null {
    if (!this.taken) return null;
    const b = this.spare.get(Math.max(16, Math.ceil(bytes / 16) * 16))?.pop();
    if (b) this.taken.push(b);
    return b ?? null;
  }

  /** Zero a buffer in stream order (recorded before a step's dispatches, the clears share one pass boundary). */
  clear(buf: GPUBuffer): void {
    this.ops.push(() => {
      this.endComputePass();
      this.encoder.clearBuffer(buf);
    });
  }

  /**
   * A zero-filled buffer (WebGPU zeroes new buffers) destroyed when the pass finishes: fresh gradients
   * without a zeroing dispatch, which on a software adapter costs more than the allocation.
   */
  zeroBuffer(bytes: number): GPUBuffer {
    const spare = this.reuse(bytes);
    if (spare) {
      this.clear(spare);
      return spare;
    }
    const b = this.rt.device.createBuffer({ size: Math.max(16, Math.ceil(bytes / 16) * 16), usage: storageUsage() });
    this.fresh.push(b);
    this.scratchBytes += b.size;
    this.taken?.push(b);
    return b;
  }

  /**
   * Record a dispatch. `uniforms` (u32/f32 words) are bound at binding 0; `bindings` follow from binding 1.
   * Bind groups are created after the uniform upload size is known, at submit time.
   */
  dispatch(pipeline: GPUComputePipeline, uniforms: ArrayBuffer | null, bindings: (GPUBuffer | Binding)[], groups: [number, number?, number?]): void {
    const [x, y = 1, z = 1] = groups;
    if (x === 0 || y === 0 || z === 0) return;
    const lim = this.rt.device.limits.maxComputeWorkgroupsPerDimension;
    if (x > lim || y > lim || z > lim) throw new Error(`dispatch of ${x}×${y}×${z} workgroups exceeds the device limit ${lim}`);
    let uOffset = -1;
    let uSize = 0;
    if (uniforms) {
      uSize = uniforms.byteLength;
      uOffset = this.allocUniform(uniforms);
    }
    // The uniform buffer does not exist until submit, so encode lazily: keep the order by recording closures.
    this.ops.push(() => {
      const entries: GPUBindGroupEntry[] = [];
      if (uOffset >= 0) entries.push({ binding: 0, resource: { buffer: this.uniformBuf!, offset: uOffset, size: uSize } });
      bindings.forEach((b, i) => {
        const r: Binding = 'buffer' in b ? b : { buffer: b };
        entries.push({ binding: i + 1, resource: { buffer: r.buffer, offset: r.offset ?? 0, size: r.size } });
      });
      const group = this.rt.device.createBindGroup({ layout: this.rt.layoutOf(pipeline), entries });
      const p = this.computePass();
      p.setPipeline(pipeline);
      p.setBindGroup(0, group);
      p.dispatchWorkgroups(x, y, z);
    });
    this.dispatches++;
  }

  /** Snapshot `bytes` of `src` now (later edits of src do not affect it); resolves after submit(). */
  read(src: GPUBuffer, bytes: number, srcOffset = 0): Promise<Float32Array> {
    return new Promise((resolve) => {
      const at = this.readBytes;
      this.readBytes += Math.ceil(bytes / 4) * 4;
      this.ops.push(() => {
        this.endComputePass();
        this.encoder.copyBufferToBuffer(src, srcOffset, this.staging!, at, Math.ceil(bytes / 4) * 4);
      });
      this.reads.push({ src, srcOffset, bytes, resolve, at });
    });
  }

  /** Copy between storage buffers in stream order. */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.ops.push(() => {
      this.endComputePass();
      this.encoder.copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
    });
  }

  /** Submit everything recorded, wait for the readbacks, give scratch buffers back. */
  async submit(): Promise<void> {
    const dev = this.rt.device;
    if (this.uniformUsed > 0) {
      this.uniformBuf = dev.createBuffer({ size: this.uniformUsed, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
      dev.queue.writeBuffer(this.uniformBuf, 0, this.uniformData.buffer, 0, this.uniformUsed);
    }
    if (this.readBytes > 0) {
      this.staging = dev.createBuffer({ size: this.readBytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    }
    for (const op of this.ops) op();
    this.endComputePass();
    dev.queue.submit([this.encoder.finish()]);
    try {
      if (this.staging) {
        await this.staging.mapAsync(GPUMapMode.READ);
        const all = this.staging.getMappedRange();
        for (const r of this.reads) {
          r.resolve(new Float32Array(all.slice(r.at, r.at + r.bytes)));
        }
        this.staging.unmap();
      } else {
        await dev.queue.onSubmittedWorkDone();
      }
      this.rt.throwIfInvalid();
    } finally {
      this.staging?.destroy();
      this.uniformBuf?.destroy();
      for (const b of this.scratch) this.rt.release(b);
      for (const b of this.fresh) b.destroy();
      this.scratch = [];
      this.fresh = [];
    }
  }

  private computePass(): GPUComputePassEncoder {
    if (!this.pass) this.pass = this.encoder.beginComputePass();
    return this.pass;
  }

  private endComputePass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  private allocUniform(data: ArrayBuffer): number {
    const at = this.uniformUsed;
    const need = at + Math.ceil(data.byteLength / UNIFORM_ALIGN) * UNIFORM_ALIGN;
    if (need > this.uniformData.length) {
      const grown = new Uint8Array(Math.max(need, this.uniformData.length * 2));
      grown.set(this.uniformData);
      this.uniformData = grown;
    }
    this.uniformData.set(new Uint8Array(data), at);
    this.uniformUsed = need;
    return at;
  }
}

/** Pack uniform words: integers as u32, values marked with f() as f32. */
export function uniforms(...words: (number | { f: number })[]): ArrayBuffer {
  const buf = new ArrayBuffer(Math.max(16, Math.ceil((words.length * 4) / 16) * 16));
  const u = new Uint32Array(buf);
  const f = new Float32Array(buf);
  words.forEach((w, i) => {
    if (typeof w === 'number') u[i] = w >>> 0;
    else f[i] = w.f;
  });
  return buf;
}
export const f32 = (v: number) => ({ f: v });
