import { describe, expect, test } from 'vitest';
import { argmax, sample, seededRandom } from '../src/engine/sampler';

const row = [0.1, 2.0, -1.0, 1.5, 2.0, 0.3, -3.0, 1.0];

describe('sampler', () => {
  test('greedy takes the lowest index among equal maxima', () => {
    expect(argmax(row)).toBe(1);
    expect(sample(row, { temperature: 0 }, seededRandom(1))).toBe(1);
  });

  test('top-k keeps only the k most likely tokens', () => {
    const r = seededRandom(3);
    const seen = new Set<number>();
    for (let i = 0; i < 500; i++) seen.add(sample(row, { temperature: 2, topK: 3 }, r));
    expect([...seen].sort()).toEqual([1, 3, 4]);
  });

  test('top-p keeps the smallest set reaching p', () => {
    // probabilities at T=1: ids 1 and 4 hold ~0.26 each, id 3 ~0.16: p = 0.5 keeps only {1, 4}
    const r = seededRandom(4);
    const seen = new Set<number>();
    for (let i = 0; i < 500; i++) seen.add(sample(row, { temperature: 1, topP: 0.5 }, r));
    expect([...seen].sort()).toEqual([1, 4]);
  });

  test('frequencies follow the softmax', () => {
    const r = seededRandom(5);
    const counts = new Array(row.length).fill(0);
    const n = 20000;
    for (let i = 0; i < n; i++) counts[sample(row, { temperature: 1 }, r)]++;
    const z = row.reduce((a, x) => a + Math.exp(x), 0);
    row.forEach((x, i) => expect(Math.abs(counts[i] / n - Math.exp(x) / z)).toBeLessThan(0.015));
  });

  test('bad options are refused', () => {
    expect(() => sample(row, { temperature: -1 }, seededRandom(1))).toThrow(/temperature must be ≥ 0/);
    expect(() => sample(row, { temperature: 1, topP: 0 }, seededRandom(1))).toThrow(/top_p must be in/);
  });
});
