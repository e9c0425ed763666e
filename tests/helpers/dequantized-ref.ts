// The float64 reference model of a fixture folder with every matrix the engine stores as f16 / q8 / q4 replaced
// by its dequantized self: what the engine computes with those weights, exactly.
import { packMatrix, unpackMatrix, type WeightDtype } from '../../src/engine/quant';
import { loadRefModel } from '../reference/reference';

export function dequantizedRef(dir: string, dt: WeightDtype) {
  const ref = loadRefModel(dir);
  for (const [name, data] of ref.tensors) {
    const shape = ref.shapes.get(name)!;
    if (shape.length !== 2 || name.includes('wpe')) continue; // GPT-2's position table stays f32
    const table = /embed_tokens|wte|lm_head/.test(name);
    const qd: WeightDtype = table && dt === 'q4' ? 'q8' : dt;
    const x = Float32Array.from(data as ArrayLike<number>);
    // GPT-2's Conv1D weights are [in, out]; the engine quantizes rows of [out, in].
    const conv = name.startsWith('transformer.h.');
    const [rows, cols] = conv ? [shape[1], shape[0]] : [shape[0], shape[1]];
    // t(m, r, c): the [c, r] transpose of an [r, c] matrix.
    const t = (m: Float32Array, r: number, c: number) => Float32Array.from({ length: m.length }, (_, i) => m[(i % r) * c + Math.floor(i / r)]);
    const q = unpackMatrix(packMatrix(qd, conv ? t(x, cols, rows) : x, rows, cols));
    ref.tensors.set(name, (conv ? t(q, rows, cols) : q) as never);
  }
  return ref;
}
