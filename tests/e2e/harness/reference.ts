// The same model run by the engine in Node (Dawn on SwiftShader): what the page should show.
import { folderFiles } from '../../../src/engine/files-node';
import { Model } from '../../../src/engine/model';
import { Tokenizer } from '../../../src/engine/tokenizer';
import { nodeGpu } from '../../../src/gpu/node';

export interface NodeRef {
  model: Model;
  tokenizer: Tokenizer | null;
  /** The k most likely next tokens after `ids`, by a plain softmax and full sort. */
  top(ids: number[], k: number): Promise<{ id: number; prob: number }[]>;
}

export async function nodeReference(dir: string): Promise<NodeRef> {
  const gpu = await nodeGpu();
  const files = folderFiles(dir);
  const model = await Model.load(gpu, files);
  const tokenizer = await Tokenizer.load(files);
  return {
    model,
    tokenizer,
    async top(ids, k) {
      const { logits } = await model.forward(ids, { logits: 'last' });
      const row = Array.from(logits!);
      const max = Math.max(...row);
      const exp = row.map((x) => Math.exp(x - max));
      const sum = exp.reduce((a, b) => a + b, 0);
      return exp
        .map((e, id) => ({ id, prob: e / sum }))
        .sort((a, b) => b.prob - a.prob || a.id - b.id)
        .slice(0, k);
    },
  };
}
