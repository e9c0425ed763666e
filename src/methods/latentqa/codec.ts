// ChatCodec for a model: its engine Tokenizer (tokenizer.json + chat template), as the CLI and the worker load it.
import type { Tokenizer } from '../../engine/tokenizer';
import type { ChatCodec, Message } from './types';

export function tokenizerCodec(tok: Tokenizer, extraStop: number[] = []): ChatCodec {
  if (!tok.hasChatTemplate) throw new Error('LatentQA needs a chat model: this tokenizer has no chat template');
  // The toy world ends a turn with <|end|>; Hub templates with their eos ids (generation_config.json).
  const endTurn = tok.encode('<|end|>', { addSpecialTokens: false });
  const stop = [...tok.eosIds, ...(endTurn.length === 1 && tok.decode(endTurn) === '<|end|>' ? endTurn : []), ...extraStop];
  return {
    encode: (text) => tok.encode(text, { addSpecialTokens: false }),
    decode: (ids) => tok.decode(ids, { skipSpecialTokens: true }).trim(),
    render: (messages: Message[], gen) => tok.renderChat(messages, { addGenerationPrompt: gen }),
    stop: [...new Set(stop)],
  };
}
