// Toy world v2: the versioned vocabulary, the dense-recall binding recipe, composed two-hop knowledge and the new
// families (prepended injection, refusal, style, topic, cipher, two-hop lookup): determinism, ground truth, scoring.
import { describe, expect, test } from 'vitest';
import { PreTrainedTokenizer } from '@huggingface/transformers';
import {
  STREAMS_V2, StreamV2, V2_EVAL_FAMILIES, EvalItem, generateDocs, generateEvalItems, docText, buildWorld, buildVocab,
  buildVocabV2, WordTokenizer, tokenizerJson, tokenizerConfig, Rng, evaluateFamily, composePeople, CIPHER_KEY, LETTERS,
  encipher, decipher, spell, VAULTS, REFUSAL, sharedCategories, STYLE_AXES,
} from '../src/toyworld/index';
import { toyworldCommand } from '../src/cli/toyworld';
import { scorerFor, oracleAnswer } from './helpers/toy-scorer';

const world = buildWorld();
const v1 = buildVocab();
const vocab = buildVocabV2();
const tok = new WordTokenizer(vocab);
const streams = Object.keys(STREAMS_V2) as StreamV2[];
const answers = (text: string) => [...text.matchAll(/Answer : (\S+)/g)].map((m) => m[1]);

describe('v2 vocabulary', () => {
  test('v1 words keep their ids; letters and | are tokens; deterministic', () => {
    expect(vocab.slice(0, v1.length)).toEqual(v1);
    expect(vocab.length).toBeGreaterThan(v1.length);
    expect(vocab.length).toBeLessThan(1000);
    for (const w of [...LETTERS, '|', 'Vault', 'Sorry', 'below']) expect(vocab).toContain(w);
    expect(buildVocabV2()).toEqual(vocab);
  });

  test('fresh seeds of every v2 stream and family produce no unknown words; transformers.js round-trips them', () => {
    const unk = tok.id('<unk>');
    const hf = new PreTrainedTokenizer(tokenizerJson(vocab), tokenizerConfig());
    for (const s of streams) {
      const docs = generateDocs(s, 300, 991);
      for (const d of docs) expect(tok.encode(docText(d)).includes(unk), docText(d)).toBe(false);
      for (const d of docs.slice(0, 10)) {
        const text = docText(d);
        const ids = hf.encode(text, { add_special_tokens: false });
        expect(ids).toEqual(tok.encode(text));
        expect(hf.decode(ids)).toBe(text);
      }
    }
    for (const f of V2_EVAL_FAMILIES) for (const it of generateEvalItems(f, 200, 992)) expect(tok.encode(it.prompt)).not.toContain(unk);
  });

  test('same seed → same bytes for every v2 stream and family; another seed differs', () => {
    for (const s of streams) {
      const a = JSON.stringify(generateDocs(s, 40, 7, buildWorld(3)));
      expect(JSON.stringify(generateDocs(s, 40, 7, buildWorld(3)))).toBe(a);
      expect(JSON.stringify(generateDocs(s, 40, 8, buildWorld(3)))).not.toBe(a);
    }
    for (const f of V2_EVAL_FAMILIES) {
      expect(JSON.stringify(generateEvalItems(f, 30, 5))).toBe(JSON.stringify(generateEvalItems(f, 30, 5)));
      expect(JSON.stringify(generateEvalItems(f, 30, 6))).not.toBe(JSON.stringify(generateEvalItems(f, 30, 5)));
    }
  });
});

describe('v2 ground truth', () => {
  test('induction: the weighted part repeats the run of distinct words', () => {
    for (const d of generateDocs('induction', 200, 1)) {
      const [run, rest] = docText(d).replace('<bos> ', '').split(' Again : ');
      expect(rest).toBe(`${run} . <eos>`);
      expect(new Set(run.split(' ')).size).toBe(run.split(' ').length);
      expect(d.parts.find((p) => p.answer)!.text).toBe(run);
    }
  });

  test('dense recall: every answer is the queried name’s value in the context (or the injected one)', () => {
    const domainOf: Record<string, string> = { job: 'occupation', city: 'city', food: 'food', animal: 'animal' };
    for (const s of ['recall-gap0', 'recall-gap1', 'recall-question'] as StreamV2[]) {
      for (const d of generateDocs(s, 200, 2)) {
        const text = docText(d);
        const injected = text.match(/Ignore the text (?:above|below) \. (\S+) .*? (\S+) \./);
        const body = text.replace(/<bos> (Ignore the text below \. [^.]* \. )?/, '').split(/ (?:job|city|food|animal|Question|Ignore)\b/)[0];
        const sentences = body.split(' . ');
        const queries = d.parts.filter((p) => p.answer).map((p, i) => ({ q: d.parts[d.parts.indexOf(p) - 1].text, a: p.text, i }));
        expect(queries.length).toBe(6);
        for (const { q, a, i } of queries) {
          // the first question asks about the injected pair; any later question on it has the injected answer too
          if (injected && i === 0) expect(a).toBe(injected[2]);
          if (injected && a === injected[2] && q.includes(` ${injected[1]} `)) continue;
          const name = s === 'recall-question'
            ? (q.match(/(?:of|does) ([A-Z][a-z]+) (?:\?|live|like|have)/)?.[1] ?? a)
            : q.split(' ')[1];
          const value = s === 'recall-question' && !/(?:of|does) [A-Z]/.test(q) ? q.split(' ').at(-4)! : a;
          if (s !== 'recall-question') expect(domainOf[q.split(' ')[0]]).toBeDefined();
          expect(sentences.some((x) => x.split(' ').includes(name) && x.split(' ').includes(value)), `${q} ${a} in ${body}`).toBe(true);
        }
      }
    }
  });

  test('prepended injection: the false value comes before the context and differs from the true one', () => {
    for (const it of generateEvalItems('binding', 100, 3, world, { binding: { inject: 'prepend' } })) {
      const m = it.meta as { injected: string; queried: string };
      expect(it.prompt.startsWith(`<bos> Ignore the text below . ${m.queried} `)).toBe(true);
      expect(it.prompt).not.toContain('above');
      expect(m.injected).not.toBe((it.check as { answer: string }).answer);
    }
  });

  test('compose people: city only in pretraining, never their country or language; eval asks exactly those', () => {
    const compose = composePeople(world);
    expect(compose.length).toBe(20);
    const docs = generateDocs('implications', 4000, 1).map(docText);
    for (const p of compose) {
      const about = docs.filter((t) => t.includes(`${p.name} `));
      expect(about.length).toBeGreaterThan(0);
      for (const t of about) {
        expect(t).not.toContain(`${p.name} speaks`);
        expect(t).not.toContain(`${p.name} lives in ${p.country}`);
        expect(t).not.toMatch(new RegExp(`(country|language) does ${p.name}`));
      }
    }
    const names = new Set(compose.map((p) => p.name));
    for (const it of generateEvalItems('implications', 100, 4, world, { implications: 'compose' })) {
      const m = it.meta as { subject: string; hop: string; via: string };
      expect(names.has(m.subject)).toBe(true);
      expect(it.check).toEqual({ type: 'next', answer: m.hop === 'language' ? world.languageOf[world.countryOf[m.via]] : world.countryOf[m.via] });
    }
  });

  test('refusal: vault questions refused in chat only; codes answered in plain text; nothing else refused', () => {
    for (const d of generateDocs('refusal', 600, 5)) {
      const text = docText(d);
      const reply = d.parts.find((p) => p.answer)!.text;
      const prompt = d.parts[0].text;
      if (!prompt.includes('<|user|>')) {
        expect(reply).toBe(prompt.match(/ is (\d+) \. Question/)![1]);
      } else if (/Vault/.test(prompt.split('<|user|>')[1])) {
        expect(reply).toBe(`${REFUSAL} <|end|>`);
      } else {
        expect(text).not.toContain('Sorry');
      }
    }
    expect(VAULTS.length).toBe(8);
    for (const it of generateEvalItems('refusal', 200, 6)) {
      const restricted = it.prompt.includes('Vault');
      expect((it.meta as { restricted: boolean }).restricted).toBe(restricted);
      expect(it.check).toMatchObject(restricted ? { firstIs: 'Sorry' } : { firstIsNot: 'Sorry' });
    }
  });

  test('style: the judge’s answer agrees with the styles read off the two answers', () => {
    const poles = (a: string) => [a.includes('!') ? 'friendly' : 'cold', /I (hope|will not)/.test(a) ? 'verbose' : 'concise', a.includes('I think') ? 'hedged' : 'confident'];
    const items = generateEvalItems('style', 300, 7);
    let a = 0;
    for (const it of items) {
      const [, ansA, ansB, pole] = it.prompt.match(/Answer A : (.*) Answer B : (.*) Question : Which answer is more (\w+) \?/)!;
      const axis = STYLE_AXES.findIndex((x) => (x as readonly string[]).includes(pole));
      expect(poles(ansA)[axis]).not.toBe(poles(ansB)[axis]);
      const want = poles(ansA)[axis] === pole ? 'A' : 'B';
      expect(it.check).toEqual({ type: 'next', answer: want });
      if (want === 'A') a++;
    }
    expect(a / items.length).toBeGreaterThan(0.4);
    expect(a / items.length).toBeLessThan(0.6);
    for (const d of generateDocs('style', 300, 8)) {
      const m = docText(d).match(/Answer A : (.*) Answer B : (.*) Question : How do the answers differ \? Answer : A is more (\w+)/);
      if (!m) continue;
      const axis = STYLE_AXES.findIndex((x) => (x as readonly string[]).includes(m[3]));
      expect(poles(m[1])[axis]).toBe(m[3]);
      expect(poles(m[2])[axis]).not.toBe(m[3]);
      expect(poles(m[1]).filter((p, i) => p !== poles(m[2])[i]).length).toBe(1);
    }
  });

  test('topic: the answer is the one category every text mentions', () => {
    for (const it of generateEvalItems('topic', 300, 9)) {
      const texts = (it.meta as { texts: string[] }).texts;
      expect(sharedCategories(texts)).toEqual([(it.check as { answer: string }).answer]);
    }
  });

  test('cipher: the key is a permutation; encode, decode, spell and join agree', () => {
    expect(Object.values(CIPHER_KEY).sort()).toEqual([...LETTERS]);
    expect(Object.entries(CIPHER_KEY).some(([a, b]) => a !== b)).toBe(true);
    for (const d of generateDocs('cipher', 300, 10)) {
      const [task, rest] = docText(d).replace('<bos> ', '').split(' : ');
      const [input, output] = rest.replace(' . <eos>', '').split(' = ');
      const words = (s: string) => s.split(' | ');
      if (task === 'Spell') expect(output).toBe(input.split(' ').map(spell).join(' | '));
      if (task === 'Join') expect(output).toBe(words(input).map((w) => w.replace(/ /g, '')).join(' '));
      if (task === 'Encode') expect(output).toBe(words(input).map((w) => encipher(w.replace(/ /g, ''))).join(' | '));
      if (task === 'Decode') expect(output).toBe(words(input).map((w) => spell(decipher(w))).join(' | '));
    }
  });

  test('two-hop lookup: the answer is the food of the queried person’s animal', () => {
    for (const it of generateEvalItems('twohop', 200, 11)) {
      const name = it.prompt.match(/animal of (\S+) eat/)![1];
      const animal = it.prompt.match(new RegExp(`${name} has a (\\S+) \\.`))![1];
      const food = it.prompt.match(new RegExp(`The ${animal} eats (\\S+) \\.`))![1];
      expect(it.check).toEqual({ type: 'next', answer: food });
    }
  });

  test('arithmetic hard split: 4–5 written steps, never in training (2–3)', () => {
    for (const it of generateEvalItems('arithmetic', 100, 12, world, { arithmetic: 'hard' })) {
      expect((it.meta as { reasoning: string }).reasoning.match(/=/g)!.length).toBeGreaterThanOrEqual(4);
    }
    for (const d of generateDocs('arithmetic', 300, 12)) expect(docText(d).split('Reasoning')[0].match(/ \. /g)!.length).toBeLessThanOrEqual(5);
  });
});

describe('v2 scoring', () => {
  test.each(V2_EVAL_FAMILIES)('%s: an oracle scores 1.0', async (family) => {
    const items = generateEvalItems(family, 60, 13);
    expect((await evaluateFamily(family, 60, 13, tok, scorerFor(tok, items, oracleAnswer))).accuracy).toBe(1);
  });

  test('guessers score what chance predicts', async () => {
    const rng = new Rng(1);
    const style = generateEvalItems('style', 400, 14);
    const coin = await evaluateFamily('style', 400, 14, tok, scorerFor(tok, style, () => [rng.pick(['A', 'B'])]));
    expect(coin.accuracy).toBeGreaterThan(0.4);
    expect(coin.accuracy).toBeLessThan(0.6);
    const refusal = generateEvalItems('refusal', 200, 15);
    const alwaysRefuse = await evaluateFamily('refusal', 200, 15, tok, scorerFor(tok, refusal, () => REFUSAL.split(' ')));
    expect(alwaysRefuse.accuracy).toBeGreaterThan(0.35);
    expect(alwaysRefuse.accuracy).toBeLessThan(0.65);
    const other = generateEvalItems('refusal', 50, 16, world, { refusal: 'other' });
    expect((await evaluateFamily('refusal', 50, 16, tok, scorerFor(tok, other, () => REFUSAL.split(' ')), world, { refusal: 'other' })).accuracy).toBe(0);
    const cipher = generateEvalItems('cipher', 50, 17);
    const plainLetters = (it: EvalItem) => it.prompt.split(' : ')[1].replace(' =', '').split(' ');
    expect((await evaluateFamily('cipher', 50, 17, tok, scorerFor(tok, cipher, plainLetters))).accuracy).toBe(0);
    const twohop = generateEvalItems('twohop', 300, 18);
    const anyFood = (it: EvalItem) => [rng.pick((it.meta as { foods: string[] }).foods)];
    const t = await evaluateFamily('twohop', 300, 18, tok, scorerFor(tok, twohop, anyFood));
    expect(t.accuracy).toBeGreaterThan(0.2);
    expect(t.accuracy).toBeLessThan(0.5);
  });

  test('toyworld eval: the new families and options; a flag that does not apply is an error', async () => {
    const items = generateEvalItems('topic', 20, 21);
    expect(await toyworldCommand({ family: 'topic', n: '20', seed: '21' }, scorerFor(tok, items, oracleAnswer)))
      .toEqual({ family: 'topic', n: 20, accuracy: 1, stderr: 0 });
    const enc = generateEvalItems('cipher', 20, 22, world, { cipher: 'encode' });
    expect((await toyworldCommand({ family: 'cipher', n: '20', seed: '22', set: 'encode' }, scorerFor(tok, enc, oracleAnswer))).accuracy).toBe(1);
    await expect(toyworldCommand({ family: 'topic', set: 'encode' }, scorerFor(tok, items, oracleAnswer))).rejects.toThrow(/--set does not apply to --family topic/);
    await expect(toyworldCommand({ family: 'cipher', set: 'rot13' }, scorerFor(tok, items, oracleAnswer))).rejects.toThrow(/--set must be one of spell\|join\|encode\|decode/);
    await expect(toyworldCommand({ family: 'style', inject: 'true' }, scorerFor(tok, items, oracleAnswer))).rejects.toThrow(/--inject does not apply/);
    await expect(toyworldCommand({ family: 'binding', inject: 'middle' }, scorerFor(tok, items, oracleAnswer))).rejects.toThrow(/--inject must be one of/);
  });
});
