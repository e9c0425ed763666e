// Chat format shared by the generator, the tokenizer config (Jinja template) and evaluation.
export const ROLES = ['system', 'user', 'assistant'] as const;
export type Role = (typeof ROLES)[number];
export interface Message {
  role: Role;
  content: string;
}

export const SPECIAL_TOKENS = ['<pad>', '<unk>', '<bos>', '<eos>', '<|system|>', '<|user|>', '<|assistant|>', '<|end|>'] as const;
export const END_TURN = '<|end|>';

/** Jinja chat template for tokenizer_config.json; renders exactly what renderChat() does. */
export const CHAT_TEMPLATE =
  "{{ bos_token }}{% for message in messages %} <|{{ message['role'] }}|> {{ message['content'] }} <|end|>{% endfor %}" +
  '{% if add_generation_prompt %} <|assistant|>{% endif %}';

export function renderChat(messages: Message[], addGenerationPrompt = false): string {
  let s = '<bos>';
  for (const m of messages) s += ` <|${m.role}|> ${m.content} ${END_TURN}`;
  if (addGenerationPrompt) s += ' <|assistant|>';
  return s;
}
