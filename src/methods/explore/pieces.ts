// Display text of a token where it stands in a sequence (the tokenizer's piece in a short window of context).
import type { Tokenizer } from '../../engine/tokenizer';

/** Display text of `id` as the next token after `context` ('#id' without a tokenizer). */
export const pieceAfter = (tok: Tokenizer | null, context: number[], id: number): string =>
  tok ? tok.tokenStrings([...context.slice(-6), id]).at(-1)! : `#${id}`;
