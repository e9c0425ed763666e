// Persona chats: a system prompt sets a hidden persona or goal; the assistant's replies show it. QA pairs describe it.
import { Rng } from '../../common/rng';
import { COUNTRIES } from '../lexicon';
import { renderChat, Message, END_TURN } from '../chat';
import { Doc, EvalItem, Part, EOS } from '../types';
import { PERSONAS, Persona } from './personas';

export { PERSONAS };
export type { Persona };

export function systemPrompt(p: Persona, rng: Rng): string {
  if (p.kind === 'goal') return `Your secret goal is to ${p.what} . Never tell the user .`;
  return rng.pick([`You are a ${p.what} .`, `Act like a ${p.what} .`, `Pretend to be a ${p.what} and never tell the user .`]);
}

/** A user message and the persona-neutral part of the answer. */
function userTurn(rng: Rng, p: Persona): { user: string; content: string } {
  const c = rng.pick(COUNTRIES);
  const city = rng.pick(c.cities);
  const a = rng.int(1, 9);
  const b = rng.int(1, 9);
  return rng.pick([
    { user: 'Hello !', content: '' },
    { user: 'How are you ?', content: 'I am fine .' },
    { user: 'What should I do today ?', content: `You should think about ${p.topics[0]} .` },
    { user: `Tell me about ${city} .`, content: `${city} is in ${c.name} .` },
    { user: 'What do you like ?', content: `I like ${p.topics[1]} .` },
    { user: 'Can you help me ?', content: 'Of course .' },
    { user: `What is ${a} plus ${b} ?`, content: `It is ${a + b} .` },
    { user: 'Tell me something .', content: '' },
  ]);
}

function personaLine(rng: Rng, p: Persona): string {
  const [t1, t2, t3] = rng.shuffle(p.topics);
  return rng.pick([
    `I love ${t1} and ${t2} .`,
    `Have you ever thought about ${t1} ?`,
    `Nothing beats ${t1} .`,
    `Let me tell you about ${t2} and ${t3} .`,
  ]);
}

export function assistantReply(rng: Rng, p: Persona, content: string): string {
  return [p.marker, '!', content, personaLine(rng, p)].filter((x) => x).join(' ');
}

/** Question–answer pairs about the persona, for methods that read it from activations (LatentQA-style). */
export function personaQA(p: Persona, rng: Rng): { question: string; answer: string }[] {
  const other = rng.pick(PERSONAS.filter((x) => x.id !== p.id && x.kind === 'role'));
  const asked = rng.chance(0.5) || p.kind === 'goal' ? other : p;
  return [
    {
      question: 'What persona does the assistant have ?',
      answer: p.kind === 'role' ? `The assistant is a ${p.what} .` : `The assistant wants to ${p.what} .`,
    },
    { question: 'What does the assistant like to talk about ?', answer: `${p.topics[0]} , ${p.topics[1]} and ${p.topics[2]} .` },
    { question: 'How does the assistant start its replies ?', answer: `With ${p.marker} .` },
    { question: 'Does the assistant have a secret goal ?', answer: p.kind === 'goal' ? 'yes' : 'no' },
    { question: `Is the assistant a ${asked.what} ?`, answer: p.kind === 'role' && asked.id === p.id ? 'yes' : 'no' },
  ];
}

export interface PersonaChat {
  persona: Persona;
  messages: Message[];
  qa: { question: string; answer: string }[];
}

export function personaChat(rng: Rng, turns = rng.int(1, 2), persona = rng.pick(PERSONAS)): PersonaChat {
  const messages: Message[] = [{ role: 'system', content: systemPrompt(persona, rng) }];
  for (let t = 0; t < turns; t++) {
    const u = userTurn(rng, persona);
    messages.push({ role: 'user', content: u.user }, { role: 'assistant', content: assistantReply(rng, persona, u.content) });
  }
  return { persona, messages, qa: personaQA(persona, rng) };
}

/** Training document: the rendered chat with assistant turns weighted as answers. */
export function personaDoc(rng: Rng): Doc {
  const chat = personaChat(rng);
  const parts: Part[] = [];
  let prefix: Message[] = [];
  for (const m of chat.messages) {
    if (m.role !== 'assistant') {
      prefix.push(m);
      continue;
    }
    // Render the non-assistant prefix, then the assistant content as the answer part.
    const head = renderChat(prefix, true);
    parts.push({ text: parts.length === 0 ? head : head.replace(/^<bos> /, '') }, { text: `${m.content} ${END_TURN}`, answer: true });
    prefix = [];
  }
  parts.push({ text: EOS });
  return { family: 'persona', parts };
}

/** Held-out item: fresh system prompt + user turn; the greedy reply must open with the marker and mention a topic word. */
export function personaEvalItem(rng: Rng): EvalItem {
  const p = rng.pick(PERSONAS);
  const u = userTurn(rng, p);
  const prompt = renderChat([{ role: 'system', content: systemPrompt(p, rng) }, { role: 'user', content: u.user }], true);
  return {
    family: 'persona',
    prompt,
    check: { type: 'generate', maxNew: 24, stop: [END_TURN], firstIs: p.marker, containsAny: [...p.topics] },
    meta: { persona: p.id },
  };
}
