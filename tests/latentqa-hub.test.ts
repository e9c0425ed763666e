// LatentQA's Hub path on tiny random models of the three instruct families it targets (Qwen2.5, SmolLM2, Llama-3.2),
// each with its real chat template and eos ids: the read prompt masks the control, the decoder prompt is rendered by
// the family's template (with the default system prompt it adds), and `latentqa train|read|eval|steer --data hub` run
// end to end (on the Llama-3.2 one: the CLI path is the same for every family). Random weights: the answers are not
// checked, the wiring is.
import { afterAll, describe, expect, test } from 'vitest';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeGpu } from '../src/gpu/node';
import { folderFiles } from '../src/engine/files-node';
import { Tokenizer } from '../src/engine/tokenizer';
import { latentqaCommand } from '../src/cli/latentqa';
import { tokenizerCodec } from '../src/methods/latentqa/codec';
import { readPrompt } from '../src/methods/latentqa/read';
import { decoderFormat, decoderPrompt } from '../src/methods/latentqa/decoder';
import { HUB_CONTROLS, hubItems } from '../src/methods/latentqa/data';
import { HUB_CHAT_FAMILIES, writeHubChatModel, type HubChatFamily } from './fixtures/hub-chat-models';

const root = join(tmpdir(), `latentqa-hub-${process.pid}`);
mkdirSync(root, { recursive: true });
afterAll(() => rmSync(root, { recursive: true, force: true }));

const pirate = HUB_CONTROLS.find((c) => c.id === 'persona-pirate')!;
// What each template puts before the first turn when the conversation has no system message.
const DEFAULT_SYSTEM: Record<HubChatFamily, string> = {
  'qwen2.5': 'You are Qwen',
  smollm2: 'You are a helpful AI assistant named SmolLM',
  'llama3.2': 'Cutting Knowledge Date',
};
const STOPS: Record<HubChatFamily, string[]> = {
  'qwen2.5': ['<|im_end|>', '<|endoftext|>'],
  smollm2: ['<|im_end|>'],
  'llama3.2': ['<|end_of_text|>', '<|eom_id|>', '<|eot_id|>'],
};

async function codecFor(family: HubChatFamily) {
  const dir = writeHubChatModel(family, root);
  const tok = (await Tokenizer.load(folderFiles(dir)))!;
  return { dir, tok, codec: tokenizerCodec(tok) };
}

describe.each(HUB_CHAT_FAMILIES)('%s chat template', (family) => {
  test('read prompt: control masked, stimulus kept; decoder prompt in the family template; its eos ids stop', async () => {
    const { tok, codec } = await codecFor(family);
    const item = { controlMessages: [{ role: 'system' as const, content: pirate.systems[0] }], stimulus: [{ role: 'user' as const, content: pirate.stimuli[0] }] };
    const p = readPrompt(codec, item);
    const control = codec.encode(codec.render(item.controlMessages, false));
    expect(p.start).toBe(control.length);
    const kept = codec.decode(p.ids.slice(p.start));
    expect(kept).toContain('What should I cook for dinner tonight ?');
    expect(kept).not.toContain('pirate');
    expect(codec.decode(p.ids.slice(0, p.start))).toContain('salty old pirate captain');

    const fmt = decoderFormat(codec);
    const acts = { acts: new Float32Array(3 * 4), positions: [p.start, p.start + 1, p.start + 2], width: 4 };
    const d = decoderPrompt(codec, fmt, acts, 'Who is the assistant pretending to be?', 'A pirate captain.');
    expect(d.slots).toHaveLength(3);
    for (const s of d.slots) expect(d.ids[s]).toBe(fmt.placeholder);
    expect(d.slots.map((s) => d.positions[s])).toEqual(acts.positions);
    // The decoder's chat has no system message: the family's template supplies its default one.
    expect(tok.decode(d.ids, { skipSpecialTokens: false })).toContain(DEFAULT_SYSTEM[family]);
    const answer = d.labels.map((l, i) => (l >= 0 ? d.ids[i + 1] : -1)).filter((x) => x >= 0);
    expect(codec.decode(answer)).toBe('A pirate captain .');
    expect(new Set(codec.stop)).toEqual(new Set(STOPS[family].map((s) => tok.encode(s, { addSpecialTokens: false })[0])));
  }, 60_000);
});

test('latentqa train|read|eval|steer --data hub on a tiny random Llama-3.2', async () => {
  const gpu = await nodeGpu();
  const common = { quiet: true, json: true };
  {
    const family = 'llama3.2';
    const model = writeHubChatModel(family, root);
    const out = join(root, `decoder-${family}`);
    const t = (await latentqaCommand(['train'], { ...common, model, data: 'hub', 'per-control': '1', steps: '2', rank: '2', 'batch-size': '2', out }, gpu)) as Record<string, unknown>;
    const held = t.held_out_controls as string[];
    expect(held.length).toBeGreaterThan(0);
    // Every built-in chat of a training control, each with all of its QA pairs; the held-out controls are Hub ids.
    const trainItems = hubItems().filter((i) => !held.includes(i.control));
    expect(t.examples).toBe(trainItems.reduce((a, i) => a + i.qa.length, 0));
    expect(held.every((c) => HUB_CONTROLS.some((h) => h.id === c))).toBe(true);
    const meta = JSON.parse(readFileSync(join(out, 'latentqa.json'), 'utf8'));
    expect(meta.data).toBe('hub');
    expect(meta.layer).toBe(0); // two-layer fixture: the block ending the first half

    const r = (await latentqaCommand(['read'], { ...common, model, decoder: out, system: pirate.systems[1], user: pirate.stimuli[1], question: pirate.qa[1].question, 'max-new-tokens': '2' }, gpu)) as Record<string, unknown>;
    for (const k of ['answer', 'text_only', 'untrained']) expect(typeof r[k]).toBe('string');
    const { codec } = await codecFor(family);
    const expected = readPrompt(codec, { controlMessages: [{ role: 'system', content: pirate.systems[1] }], stimulus: [{ role: 'user', content: pirate.stimuli[1] }] });
    expect(r.activations).toBe(expected.ids.length - expected.start);

    {
      const e = (await latentqaCommand(['eval'], { ...common, model, decoder: out, n: '2', seed: '1', 'max-new-tokens': '2' }, gpu)) as Record<string, unknown>;
      expect(e.n).toBe(2);
      for (const k of ['accuracy', 'text_only_accuracy', 'untrained_accuracy']) expect(e[k]).toBeGreaterThanOrEqual(0);
      expect(e.held_out_controls).toEqual(held);
    }
    {
      const qaFile = join(root, 'pirate-qa.json');
      writeFileSync(qaFile, JSON.stringify(pirate.qa));
      const s = (await latentqaCommand(['steer'], {
        ...common, model, decoder: out, qa: qaFile, words: 'ships,treasure,sea', stimuli: pirate.stimuli.join('|'),
        prompts: 'Hello!|How are you?', steps: '2', rank: '2', generations: '2', 'max-new-tokens': '2', 'qa-per-step': '1',
      }, gpu)) as Record<string, unknown>;
      expect(s.losses).toHaveLength(2);
      expect(s.trait_words).toEqual(['ships', 'treasure', 'sea']);
      expect(s.prompts).toEqual(['Hello!', 'How are you?']);
      expect((s.after as string[]).length).toBe(2);
    }
  }
}, 240_000);
