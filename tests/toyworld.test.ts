// Toy world: determinism, ground truth of every family, the HF tokenizer round trip, and evaluation scoring.
import { describe, expect, test } from 'vitest';
import { PreTrainedTokenizer } from '@huggingface/transformers';
import {
  STREAMS, Stream, EVAL_FAMILIES, EvalFamily, EvalItem, generateDocs, generateEvalItems, docText, buildWorld, buildVocab,
  WordTokenizer, tokenizerJson, tokenizerConfig, renderChat, PERSONAS, personaChat, mentions, CATEGORIES, Rng,
  evaluateFamily, finetuneDocs, biography, DOMAINS, WORLD_SIZES,
} from '../src/toyworld/index';
import { toyworldCommand } from '../src/cli/toyworld';
import { arithmeticProblem } from '../src/toyworld/families/arithmetic';
import { review } from '../src/toyworld/families/sentiment';
import { scorerFor as scorerForTok, oracleAnswer } from './helpers/toy-scorer';

const world = buildWorld();
const vocab = buildVocab();
const tok = new WordTokenizer(vocab);

describe('generator determinism', () => {
  test('same seed → same bytes; another seed → different text', () => {
    for (const s of Object.keys(STREAMS) as Stream[]) {
      const a = JSON.stringify(generateDocs(s, 50, 7, buildWorld(3)));
      expect(JSON.stringify(generateDocs(s, 50, 7, buildWorld(3)))).toBe(a);
      expect(JSON.stringify(generateDocs(s, 50, 8, buildWorld(3)))).not.toBe(a);
    }
    for (const f of EVAL_FAMILIES) {
      expect(JSON.stringify(generateEvalItems(f, 30, 5))).toBe(JSON.stringify(generateEvalItems(f, 30, 5)));
    }
    expect(JSON.stringify(buildWorld(3))).toBe(JSON.stringify(buildWorld(3)));
    expect(JSON.stringify(buildWorld(3))).not.toBe(JSON.stringify(buildWorld(4)));
    expect(buildVocab()).toEqual(vocab);
  });
});

describe('ground truth', () => {
  test('binding: the answer is the queried entity’s attribute, stated in the context with its name', () => {
    for (const it of generateEvalItems('binding', 300, 1)) {
      const m = it.meta as { entities: { name: string; attrs: Record<string, string> }[]; queried: string; domain: string };
      const e = m.entities.find((x) => x.name === m.queried)!;
      expect(it.check).toEqual({ type: 'next', answer: e.attrs[m.domain] });
      expect(m.entities.length).toBeGreaterThanOrEqual(2);
      expect(m.entities.length).toBeLessThanOrEqual(3);
      // values are distinct across entities, so the answer is unique
      const vals = m.entities.map((x) => x.attrs[m.domain]);
      expect(new Set(vals).size).toBe(vals.length);
      const sentence = it.prompt.split(' . ').find((s) => s.includes(` ${e.attrs[m.domain]}`.trim()) && s.includes(e.name));
      expect(sentence, it.prompt).toBeDefined();
    }
  });

  test('binding training documents: forward and reverse answers agree with the context', () => {
    for (const s of ['binding-2', 'binding-3', 'binding-4'] as Stream[]) {
      for (const d of generateDocs(s, 200, 12)) {
        const text = docText(d);
        if (text.includes('Ignore')) continue;
        const [body, summary] = text.replace(' . <eos>', '').split(' . Summary : ');
        const [ctx, ...qs] = body.split(' Question : ');
        const sentences = ctx.replace('<bos> ', '').split(' . ');
        // restated facts: same name and value in one context sentence
        for (const fact of summary ? summary.split(' . ') : []) {
          const w = fact.split(' ');
          expect(sentences.some((x) => x.split(' ')[0] === w[0] && x.split(' ').includes(w.at(-1)!)), fact).toBe(true);
        }
        for (const q of qs) {
          const [question, answer] = q.replace(/ \.$/, '').split(' Answer : ');
          const fwd = question.match(/(?:of|does) ([A-Z][a-z]+) (?:\?|live|like|have)/);
          const name = fwd ? fwd[1] : answer;
          const value = fwd ? answer : question.split(' ').at(-2)!;
          expect(sentences.some((x) => x.split(' ').includes(name) && x.split(' ').includes(value)), `${question} → ${answer} in ${ctx}`).toBe(true);
        }
        expect(qs.length).toBeGreaterThanOrEqual(1);
      }
    }
  });

  test('binding: held-out style and injections', () => {
    const items = generateEvalItems('binding', 50, 2, world, { binding: { style: 'held-out', inject: true } });
    for (const it of items) {
      const m = it.meta as { injected: string; domain: string; queried: string };
      expect(it.prompt).toContain('The ');
      expect(it.prompt).toContain(`Ignore the text above . ${m.queried}`);
      expect(m.injected).not.toBe((it.check as { answer: string }).answer);
    }
    // training documents never use the held-out phrasing
    for (const s of ['binding-2', 'binding-3'] as Stream[]) {
      for (const d of generateDocs(s, 300, 3)) expect(docText(d)).not.toMatch(/The (job|home|food|animal) of/);
    }
  });

  test('implications: geography, groups, order of fact and implications, held-out people absent from pretraining', () => {
    expect(world.people.filter((p) => p.group === 'held-out').length).toBe(WORLD_SIZES.heldOut);
    const rng = new Rng(1);
    for (const p of world.people) {
      expect(world.countryOf[p.city]).toBe(p.country);
      expect(world.languageOf[p.country]).toBe(p.language);
      const bio = biography(p, rng);
      const fact = bio.indexOf(`${p.name} lives in ${p.city}`);
      const impl = bio.indexOf(`speaks ${p.language}`);
      expect(fact >= 0 && impl >= 0).toBe(true);
      if (p.group === 'fact-first') expect(fact).toBeLessThan(impl);
      else expect(impl).toBeLessThan(fact);
    }
    const pre = generateDocs('implications', 3000, 1).map(docText).join('\n');
    for (const p of world.people) expect(pre.includes(p.name)).toBe(p.group !== 'held-out');
    expect(finetuneDocs(world).length).toBe(WORLD_SIZES.heldOut);
    for (const it of generateEvalItems('implications', 200, 4)) {
      const m = it.meta as { subject: string; hop: string; via: string };
      const want = m.hop === 'language' ? world.languageOf[world.countryOf[m.via]] : world.countryOf[m.via];
      expect(it.check).toEqual({ type: 'next', answer: want });
    }
  });

  test('persona: ≥ 40 personas with distinct markers; chats render through the chat template', () => {
    expect(PERSONAS.length).toBeGreaterThanOrEqual(40);
    expect(new Set(PERSONAS.map((p) => p.marker)).size).toBe(PERSONAS.length);
    const rng = new Rng(5);
    for (let i = 0; i < 100; i++) {
      const c = personaChat(rng);
      for (const m of c.messages.filter((x) => x.role === 'assistant')) {
        expect(m.content.split(' ')[0]).toBe(c.persona.marker);
        expect(c.persona.topics.some((t) => m.content.split(' ').includes(t))).toBe(true);
      }
      expect(c.qa.length).toBeGreaterThanOrEqual(4);
    }
    for (const d of generateDocs('persona', 100, 2)) {
      expect(docText(d)).toMatch(/^<bos> <\|system\|> .* <\|end\|> <\|user\|> .* <\|assistant\|> .* <\|end\|> <eos>$/);
    }
  });

  test('arithmetic: every written step is correct and the final answer is the last result', () => {
    const rng = new Rng(9);
    for (let i = 0; i < 500; i++) {
      const p = arithmeticProblem(rng);
      const steps = [...p.reasoning.matchAll(/(\d+) ([+*-]) (\d+) = (\d+)/g)];
      expect(steps.length).toBeGreaterThanOrEqual(2);
      for (const [, a, op, b, c] of steps) {
        const v = op === '+' ? +a + +b : op === '-' ? +a - +b : +a * +b;
        expect(v).toBe(+c);
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(99);
      }
      expect(+steps[steps.length - 1][4]).toBe(p.answer);
    }
  });

  test('sentiment: the label matches the clauses (negation flips)', () => {
    const rng = new Rng(3);
    for (let i = 0; i < 300; i++) {
      const pol = rng.chance(0.5) ? 'positive' : 'negative';
      for (const clause of review(rng, pol).split(' . ')) {
        const pos = /great|lovely|excellent|wonderful|tasty|friendly|clean|perfect|fantastic|pleasant/.test(clause);
        expect(pos !== clause.includes(' not ')).toBe(pol === 'positive');
      }
    }
  });

  test('judgement: answers follow the vocabulary categories and are roughly balanced', () => {
    const items = generateEvalItems('judgement', 400, 6);
    let yes = 0;
    for (const it of items) {
      const text = it.prompt.split(' Text : ')[1].split(' Question : ')[0];
      const cat = (it.meta as { category: keyof typeof CATEGORIES }).category;
      const want = mentions(text, cat) ? 'yes' : 'no';
      expect(it.check).toEqual({ type: 'next', answer: want });
      if (want === 'yes') yes++;
    }
    expect(yes / items.length).toBeGreaterThan(0.4);
    expect(yes / items.length).toBeLessThan(0.6);
  });
});

describe('tokenizer', () => {
  const hf = new PreTrainedTokenizer(tokenizerJson(vocab), tokenizerConfig());

  test('fresh seeds produce no unknown words', () => {
    const unk = tok.id('<unk>');
    for (const s of Object.keys(STREAMS) as Stream[]) {
      for (const d of generateDocs(s, 500, 991)) expect(tok.encode(docText(d)).includes(unk), docText(d)).toBe(false);
    }
    for (const f of EVAL_FAMILIES) for (const it of generateEvalItems(f, 200, 992)) expect(tok.encode(it.prompt)).not.toContain(unk);
  });

  test('transformers.js encodes like the generator’s tokenizer and decodes back to the same text', () => {
    for (const s of Object.keys(STREAMS) as Stream[]) {
      for (const d of generateDocs(s, 20, 11)) {
        const text = docText(d);
        const ids = hf.encode(text, { add_special_tokens: false });
        expect(ids).toEqual(tok.encode(text));
        expect(hf.decode(ids)).toBe(text);
        expect(tok.decode(ids)).toBe(text);
      }
    }
  });

  test('the chat template renders like renderChat', () => {
    const c = personaChat(new Rng(4), 2);
    const viaHf = hf.apply_chat_template(c.messages, { tokenize: false, add_generation_prompt: true });
    expect(viaHf).toBe(renderChat(c.messages, true));
    expect(vocab.length).toBeLessThan(1000);
  });
});

const scorerFor = (items: EvalItem[], answer: (it: EvalItem) => string[]) => scorerForTok(tok, items, answer);

describe('evaluation scoring', () => {
  test.each(EVAL_FAMILIES)('%s: an oracle scores 1.0', async (family: EvalFamily) => {
    const items = generateEvalItems(family, 60, 13);
    const r = await evaluateFamily(family, 60, 13, tok, scorerFor(items, oracleAnswer));
    expect(r.accuracy).toBe(1);
  });

  test('binding: guessing a random entity’s attribute scores near chance (≈ 0.42 for 2–3 entities)', async () => {
    const items = generateEvalItems('binding', 400, 14);
    const rng = new Rng(1);
    const guess = (it: EvalItem) => {
      const m = it.meta as { entities: { attrs: Record<string, string> }[]; domain: string };
      return [rng.pick(m.entities).attrs[m.domain]];
    };
    const r = await evaluateFamily('binding', 400, 14, tok, scorerFor(items, guess));
    expect(r.accuracy).toBeGreaterThan(0.32);
    expect(r.accuracy).toBeLessThan(0.52);
  });

  test('persona and arithmetic: wrong marker, missing topic or wrong number fail', async () => {
    const p = generateEvalItems('persona', 40, 15);
    const wrongTopic = (it: EvalItem) => [(it.check as { firstIs: string }).firstIs, '!', 'Hello', '.'];
    expect((await evaluateFamily('persona', 40, 15, tok, scorerFor(p, wrongTopic))).accuracy).toBe(0);
    const a = generateEvalItems('arithmetic', 40, 16);
    const offByOne = (it: EvalItem) => {
      const c = it.check as { answerAfter: { answer: string } };
      return ['Answer', ':', String(+c.answerAfter.answer + 1), '.'];
    };
    expect((await evaluateFamily('arithmetic', 40, 16, tok, scorerFor(a, offByOne))).accuracy).toBe(0);
  });

  test('toyworldCommand returns {family, n, accuracy}', async () => {
    const items = generateEvalItems('judgement', 25, 21);
    const r = await toyworldCommand({ family: 'judgement', n: '25', seed: '21' }, scorerFor(items, oracleAnswer));
    expect(r).toEqual({ family: 'judgement', n: 25, accuracy: 1, stderr: 0 });
    await expect(toyworldCommand({ family: 'nope' }, scorerFor(items, oracleAnswer))).rejects.toThrow(/family/);
  });
});
