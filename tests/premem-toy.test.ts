// Pre-memorization runs on a toy model (src/methods/premem/toy-runs.ts): the task, the answer check, the CLI's
// configurations, and bad input. The run itself on toy-s is in premem-toy.slow.test.ts.
import { describe, expect, it } from 'vitest';
import { finalNumberIs, promptText, targetText, toyTask } from '../src/methods/premem/toy-runs';
import { configsOf } from '../src/cli/premem';

describe('toy pre-memorization runs', () => {
  it('draws distinct train and test problems, the same for the same seed', () => {
    const a = toyTask(3, 40, 40);
    const qs = [...a.train, ...a.test].map((p) => p.question);
    expect(new Set(qs).size).toBe(80);
    expect(toyTask(3, 40, 40)).toEqual(a);
    expect(toyTask(4, 40, 40).train[0].question).not.toBe(a.train[0].question);
    // the toy world's document format: the reasoning ends in the answer
    expect(promptText(a.train[0])).toMatch(/^<bos> Question : .* \? Reasoning :$/);
    expect(targetText(a.train[0])).toMatch(new RegExp(`= ${a.train[0].answer} \\. Answer : ${a.train[0].answer} \\. <eos>$`));
  });

  it('checks a sampled solution by its final number', () => {
    expect(finalNumberIs('10 - 6 = 4 . 4 - 2 = 2 . Answer : 2 .', 2)).toBe(true);
    expect(finalNumberIs('10 - 6 = 6 . 6 - 2 = 4 . Answer : 4 .', 2)).toBe(false);
    expect(finalNumberIs('10 - 6 = 4 . 4 - 2 = 2 .', 2)).toBe(true);
    expect(finalNumberIs('Answer : 12 .', 2)).toBe(false);
    expect(finalNumberIs('no number at all', 0)).toBe(false);
  });

  it('reads --configs LR:EPOCHS,... and refuses anything else', () => {
    expect(configsOf('1e-3:3, 3e-3:1')).toEqual([{ lr: 1e-3, epochs: 3 }, { lr: 3e-3, epochs: 1 }]);
    expect(() => configsOf('1e-3')).toThrow(/--configs: "1e-3" is not LR:EPOCHS/);
    expect(() => configsOf('1e-3:2.5')).toThrow(/not LR:EPOCHS/);
    expect(() => configsOf('fast:3')).toThrow(/not LR:EPOCHS/);
  });
});
