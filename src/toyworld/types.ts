// Shared shapes for generated texts. Text is canonical: tokens separated by single spaces, so a word-level
// tokenizer maps it 1:1 and decoding reproduces it exactly.

/** A piece of a training document; `answer` pieces get full loss weight in training (the rest a small weight). */
export interface Part {
  text: string;
  answer?: boolean;
}

export interface Doc {
  family: string;
  parts: Part[];
}

/** How an evaluation item is scored; both eval.ts and the Python trainer implement exactly these rules. */
export type Check =
  /** The argmax of the next-token logits after the prompt must be this word. */
  | { type: 'next'; answer: string }
  /** Greedy generation (stopping at any `stop` word or after maxNew tokens) is then tested. */
  | {
      type: 'generate';
      maxNew: number;
      stop: string[];
      /** First generated word must be this. */
      firstIs?: string;
      /** First generated word must not be this (e.g. no refusal outside the restricted topic). */
      firstIsNot?: string;
      /** The generation (cut at the stop word) must be exactly these words. */
      equals?: string[];
      /** At least one of these words must occur in the generation. */
      containsAny?: string[];
      /** The word following the sequence `after` must be `answer`. */
      answerAfter?: { after: string[]; answer: string };
    };

export interface EvalItem {
  family: string;
  /** Full prompt text, starting with "<bos>". */
  prompt: string;
  check: Check;
  meta?: Record<string, unknown>;
}

export function docText(d: Doc): string {
  return d.parts.map((p) => p.text).join(' ');
}

/** Join words/phrases into canonical text. */
export function words(...xs: string[]): string {
  return xs.filter((x) => x.length > 0).join(' ');
}

export const BOS = '<bos>';
export const EOS = '<eos>';
