// Step 5 baseline: ask the model. One question per (entity, domain) of the context; the greedy next token, read
// back as the domain value whose first token it is, gives the proposition the model asserts.
import { argmax } from './activations';
import { firstTokens } from './data';
import type { PieceEncoder, ProbeBackend, ProbeItem, Prop } from './types';

export async function promptingProps(b: ProbeBackend, enc: PieceEncoder, item: ProbeItem): Promise<{ props: Prop[]; answers: { name: string; domain: string; said: string | null }[] }> {
  const props: Prop[] = [];
  const answers: { name: string; domain: string; said: string | null }[] = [];
  for (const q of item.questions) {
    const { last } = await b.forward(q.promptIds, []);
    const said = firstTokens(enc, q.domain).get(argmax(last)) ?? null;
    answers.push({ name: q.name, domain: q.domain, said });
    if (said !== null) props.push({ name: q.name, value: said, domain: q.domain });
  }
  return { props, answers };
}
