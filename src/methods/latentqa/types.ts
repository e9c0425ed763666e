// Shapes shared by the LatentQA pipeline: controls (a persona or goal set by a hidden prompt), the dialogs they
// shape, and the question–answer pairs that describe them.

export interface Message {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface QA {
  question: string;
  answer: string;
}

/** One behaviour a hidden prompt induces, with the QA pairs that describe it. */
export interface Control {
  /** Stable id; the train / held-out split is by this id. */
  id: string;
  kind: 'persona' | 'goal' | string;
  qa: QA[];
}

/** One read: the control messages (masked out of what the decoder sees) + the stimulus messages, and its QA. */
export interface LqaItem {
  control: string;
  /** The messages that set the control (a system prompt, or a first user turn). */
  controlMessages: Message[];
  /** What follows: the user stimulus (and optionally the assistant's completion). */
  stimulus: Message[];
  qa: QA[];
}

/** Text side of a model: its tokenizer and chat template. */
export interface ChatCodec {
  /** Token ids of `text` with no special tokens added. */
  encode(text: string): number[];
  decode(ids: number[]): string;
  /** The chat template rendered as text (no tokenization). */
  render(messages: Message[], addGenerationPrompt: boolean): string;
  /** Ids that end an assistant turn (generation stops there). */
  stop: number[];
}
