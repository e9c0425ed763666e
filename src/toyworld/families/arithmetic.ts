// Multi-step word problems with a written chain of thought and a final answer. Results stay within 0..99.
import { Rng } from '../../common/rng';
import { FIRST_NAMES } from '../lexicon';
import { Doc, EvalItem, BOS, EOS } from '../types';

const OBJECTS = ['apples', 'eggs', 'pears', 'plums', 'cookies', 'carrots', 'lemons', 'oranges', 'cherries', 'olives'] as const;

export interface Problem {
  question: string;
  reasoning: string;
  answer: number;
}

export function arithmeticProblem(rng: Rng, steps = rng.int(2, 3)): Problem {
  const name = rng.pick(FIRST_NAMES);
  const other = rng.pick(FIRST_NAMES.filter((n) => n !== name));
  const obj = rng.pick(OBJECTS);
  let x = rng.int(2, 20);
  const q: string[] = [`${name} has ${x} ${obj} .`];
  const r: string[] = [];
  for (let s = 0; s < steps; s++) {
    const op = rng.int(0, 2);
    if (op === 0 && x < 80) {
      const b = rng.int(1, Math.min(19, 99 - x));
      q.push(`${name} buys ${b} more ${obj} .`);
      r.push(`${x} + ${b} = ${x + b} .`);
      x += b;
    } else if (op === 1 && x > 1) {
      const b = rng.int(1, x - 1);
      q.push(`${name} gives ${b} ${obj} to ${other} .`);
      r.push(`${x} - ${b} = ${x - b} .`);
      x -= b;
    } else {
      const k = rng.int(2, 4);
      const m = rng.int(2, 5);
      if (x + k * m > 99) {
        s--; // retry this step with another operation
        continue;
      }
      q.push(`${name} gets ${k} bags with ${m} ${obj} each .`);
      r.push(`${k} * ${m} = ${k * m} . ${x} + ${k * m} = ${x + k * m} .`);
      x += k * m;
    }
  }
  q.push(`How many ${obj} does ${name} have now ?`);
  return { question: q.join(' '), reasoning: r.join(' '), answer: x };
}

export function arithmeticDoc(rng: Rng): Doc {
  const p = arithmeticProblem(rng);
  return {
    family: 'arithmetic',
    parts: [
      { text: `${BOS} Question : ${p.question} Reasoning :` },
      { text: `${p.reasoning} Answer : ${p.answer} .`, answer: true },
      { text: EOS },
    ],
  };
}

/** 'standard': 2–3 steps as in training; 'hard': 4–5 steps, never trained (the split a small model mostly fails). */
export type ArithmeticSplit = 'standard' | 'hard';

/** The model writes its reasoning; the number after "Answer :" must be right. */
export function arithmeticEvalItem(rng: Rng, split: ArithmeticSplit = 'standard'): EvalItem {
  const p = split === 'hard' ? arithmeticProblem(rng, rng.int(4, 5)) : arithmeticProblem(rng);
  return {
    family: 'arithmetic',
    prompt: `${BOS} Question : ${p.question} Reasoning :`,
    check: { type: 'generate', maxNew: split === 'hard' ? 80 : 48, stop: ['<eos>'], answerAfter: { after: ['Answer', ':'], answer: String(p.answer) } },
    meta: { reasoning: p.reasoning, split },
  };
}
