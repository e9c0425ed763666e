// Vocabulary readers: a tokenizer.json's vocabulary in id order, shared by the CLI, the toy world's tools and the
// methods (plain JSON in, strings out; no tokenizer library needed).

/** A tokenizer.json's model vocabulary (WordLevel / BPE `{token: id}`; Unigram `[[token, score], ...]`) in id order. */
export function vocabFromTokenizerJson(json: { model: { vocab: Record<string, number> | [string, number][] } }): string[] {
  const vocab = json?.model?.vocab;
  if (!vocab || typeof vocab !== 'object') throw new Error('tokenizer.json has no model.vocab');
  if (Array.isArray(vocab)) return vocab.map(([w]) => w);
  const v: string[] = [];
  for (const [w, i] of Object.entries(vocab)) {
    if (!Number.isInteger(i) || i < 0) throw new Error(`tokenizer.json gives "${w}" the id ${i}`);
    v[i] = w;
  }
  return v;
}
