// Choosing how contexts are written for a tokenizer: the toy world's canonical word text when the tokenizer is the
// toy world's word-level one (it has "<bos>" and every lexicon word as single tokens), English otherwise.
import type { PieceEncoder } from './types';
import { pieceEncoder } from './data';

export interface TokenizerLike {
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
  readonly bosId: number | null;
}

export function encoderFor(tok: TokenizerLike, template: 'auto' | 'toy' | 'english' = 'auto'): PieceEncoder {
  const raw = (t: string) => tok.encode(t, { addSpecialTokens: false });
  const bosIds = raw('<bos>');
  const toy = template === 'toy' || (template === 'auto' && bosIds.length === 1 && raw('Greg nurse physicist Paris').length === 4);
  if (toy) return pieceEncoder((p) => raw(p.trim()), bosIds[0], 'words');
  return pieceEncoder(raw, tok.bosId, 'english');
}
