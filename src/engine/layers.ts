// The forward's building blocks, each recording its backward on the tape when one is given:
// a differentiable op is its forward launch followed by the closure that launches its gradient.

import type { Pass } from '../gpu/runtime';
import * as op from './ops';
import * as gop from './grad-ops';
import type { ModelConfig } from './config';
import { moduleDropoutSeed, type LoraAdapter, type ModuleSlice } from './lora';
import type { Tape } from './tape';
import { packedWeightOf } from './packed-weights';
import { linearInputGrad } from './grad-quant';
import type { Linear as LinearWeights, NormAffine } from './weights';

export interface LinearCall {
  A: GPUBuffer;
  M: number;
  aRow0?: number;
  w: { w: GPUBuffer; b: GPUBuffer | null; out: number; in: number };
  affine?: NormAffine;
  C: GPUBuffer;
  residual?: { res: GPUBuffer; R: GPUBuffer };
  /** The HF modules inside this linear, for LoRA. */
  modules: ModuleSlice[];
}

export class Layers {
  constructor(
    readonly pass: Pass,
    readonly cfg: ModelConfig,
    readonly tape: Tape | null,
    readonly lora: LoraAdapter | null,
    /** LoRA dropout's seed: dropout acts only in training forwards, never at evaluation. */
    readonly dropoutSeed: number | null = null,
  ) {}

  private buf(floats: number): GPUBuffer {
    return this.pass.scratchBuffer(floats * 4);
  }

  /** Record a backward step when taping this layer (layer -1: embeddings, nLayers: the head). */
  private back(layer: number, step: () => void): void {
    if (this.tape && layer >= this.tape.fromLayer) this.tape.record(step);
  }

  linear(c: LinearCall, layer: number): void {
    const { pass } = this;
    // f16 / q8 / q4 and row-split weights are frozen: they pass the input gradient on (engine/grad-quant.ts), nothing more.
    const pw = packedWeightOf(c.w.w);
    if (pw && this.tape?.paramGrad(c.w.w)) {
      throw new Error(`training ${c.modules[0]?.name ?? 'a weight'} needs it as plain f32, but it is ${pw.parts.length > 1 ? 'split by rows' : pw.dtype}: load the model with dtype f32 (LoRA and activation gradients work on any dtype)`);
    }
    const K = c.w.in;
    const N = c.w.out;
    const loras = c.modules.flatMap((s) => {
      const m = this.lora?.modules.get(s.name);
      return m ? [{ s, m }] : [];
    });
    // The residual is fused unless a LoRA delta must land in C first.
    const fuse = c.residual && !loras.length ? c.residual : undefined;
    op.linear(pass, { A: c.A, M: c.M, K, W: c.w.w, N, C: c.C, aRow0: c.aRow0, bias: c.w.b ?? undefined, affine: c.affine, residual: fuse });
    const hidden: GPUBuffer[] = [];
    // PEFT's dropout acts on the LoRA branch's input only, with its own mask per module.
    const p = this.dropoutSeed !== null ? (this.lora?.config.dropout ?? 0) : 0;
    const seeds = p > 0 ? loras.map(({ m }) => moduleDropoutSeed(this.dropoutSeed!, m.name)) : [];
    let x: GPUBuffer | null = null; // the linear's real input, shared by the modules' dropouts
    if (p > 0 && loras.length) {
      x = c.A;
      if (c.affine) {
        x = this.buf(c.M * K);
        gop.applyAffine(pass, c.A, c.affine.buf, c.affine.shift, x, c.M, K);
      }
    }
    const dropped: GPUBuffer[] = [];
    loras.forEach(({ s, m }, i) => {
      const H = this.buf(c.M * m.rank);
      if (x) {
        const xd = this.buf(c.M * K);
        gop.dropout(pass, x, xd, c.M * K, p, seeds[i]);
        op.linear(pass, { A: xd, M: c.M, K, W: m.A, N: m.rank, C: H });
        dropped.push(xd);
      } else op.linear(pass, { A: c.A, M: c.M, K, W: m.A, N: m.rank, C: H, aRow0: c.aRow0, affine: c.affine });
      gop.matmulStrided(pass, c.M, s.width, m.rank, { buf: H, rows: m.rank, cols: 1 }, { buf: m.B, rows: 1, cols: m.rank }, { buf: c.C, offset: s.offset, rows: N, cols: 1 }, m.scale, 1);
      hidden.push(H);
    });
    if (c.residual && !fuse) op.add(pass, c.residual.res, c.C, c.residual.R, c.M * N);

    this.back(layer, () => {
      if (c.aRow0) throw new Error('training needs logits at every position');
      const tape = this.tape!;
      const M = c.M;
      if (c.residual) {
        // R = res + C passes dR to both terms: share its buffer where a term has no gradient yet.
        const dR = tape.grad(c.residual.R);
        for (const term of [c.C, c.residual.res]) if (!tape.alias(term, dR)) gop.accumulate(pass, dR, tape.grad(term), M * N);
      }
      const dC = tape.grad(c.C);
      const dW = tape.paramGrad(c.w.w);
      // The matmul's real input a = n·g (+b), materialised only for the weight's own gradient (LoRA's A
      // gradient applies the affine as it reads n).
      let input = x ?? c.A;
      if (c.affine && !x && dW) {
        input = this.buf(M * K);
        gop.applyAffine(pass, c.A, c.affine.buf, c.affine.shift, input, M, K);
      }
      // dA: the gradient at the matmul's input (before the affine's backward, if any).
      const dA = c.affine ? this.buf(M * K) : tape.grad(c.A);
      linearInputGrad(pass, M, K, N, dC, c.w.w, dA, c.affine ? 0 : 1);
      if (dW) gop.matmulStrided(pass, N, K, M, { buf: dC, rows: 1, cols: N }, { buf: input, rows: K, cols: 1 }, { buf: dW, rows: K, cols: 1 }, 1, 1);
      const dBias = c.w.b && tape.paramGrad(c.w.b);
      if (dBias) gop.biasBackward(pass, dC, dBias, M, N);
      loras.forEach(({ s, m }, i) => {
        const a = { M, K, width: s.width, rank: m.rank, N, offset: s.offset, scale: m.scale };
        const dH = this.buf(M * m.rank);
        gop.loraBranchBackward(pass, a, dC, m.B, hidden[i], dH, tape.paramGrad(m.B));
        // Through the dropout: dA += mask ⊙ (dH·A), the mask redrawn from the module's seed.
        const dX = dropped[i] ? this.buf(M * K) : dA;
        const raw = !dropped[i] && input === c.A ? (c.affine ?? null) : null;
        gop.loraInputBackward(pass, a, dH, m.A, dropped[i] ?? input, dX, tape.paramGrad(m.A), !!dropped[i], raw);
        if (dropped[i]) gop.dropout(pass, dX, dA, M * K, p, seeds[i], true);
      });
      if (c.affine) gop.affineBackward(pass, c.A, dA, c.affine.buf, c.affine.shift, tape.grad(c.A), tape.paramGrad(c.affine.buf), M, K);
    });
  }

  /** out[t] = table[ids[t]] (token or position embeddings); the table's gradient when it is trained. */
  gather(ids: number[], idsBuf: GPUBuffer, table: GPUBuffer, out: GPUBuffer, rows: number): void {
    const { pass, cfg } = this;
    op.gather(pass, idsBuf, table, out, ids.length, cfg.hidden, rows);
    this.back(-1, () => {
      const dTable = this.tape!.paramGrad(table);
      if (dTable) gop.embeddingBackward(pass, ids, this.tape!.grad(out), dTable, cfg.hidden);
    });
  }

  normalize(X: GPUBuffer, Y: GPUBuffer, rows: number, layer: number): void {
    const { cfg, pass } = this;
    const layernorm = cfg.norm === 'layernorm';
    op.normalize(pass, X, Y, rows, cfg.hidden, cfg.normEps, layernorm);
    this.back(layer, () => gop.normBackward(pass, X, this.tape!.grad(Y), this.tape!.grad(X), rows, cfg.hidden, cfg.normEps, layernorm));
  }

  activate(X: GPUBuffer, Y: GPUBuffer, T: number, layer: number): void {
    const { cfg, pass } = this;
    op.activate(pass, X, Y, T, cfg.intermediate, cfg.act, cfg.gatedMlp);
    this.back(layer, () => gop.activationBackward(pass, X, this.tape!.grad(Y), this.tape!.grad(X), T, cfg.intermediate, cfg.act, cfg.gatedMlp));
  }

  /** out = a + b (GPT-2's token + position embeddings). */
  add(a: GPUBuffer, b: GPUBuffer, out: GPUBuffer, n: number, layer: number): void {
    op.add(this.pass, a, b, out, n);
    this.back(layer, () => {
      const d = this.tape!.grad(out);
      gop.accumulate(this.pass, d, this.tape!.grad(a), n);
      gop.accumulate(this.pass, d, this.tape!.grad(b), n);
    });
  }

  attention(a: op.AttentionArgs, qkvDim: number, layer: number): void {
    op.attention(this.pass, a);
    this.back(layer, () => {
      if (a.past) throw new Error('training runs without a KV cache');
      const tape = this.tape!;
      gop.attentionBackward(this.pass, {
        T: a.T, nHeads: a.nHeads, nKvHeads: a.nKvHeads, headDim: a.headDim,
        qkv: a.q.buf, stride: qkvDim, kOffset: a.k.offset, vOffset: a.v.offset,
        rope: a.rope, posIds: a.posIds, dZ: tape.grad(a.Z), dQKV: tape.grad(a.q.buf),
      });
    });
  }
}

