// The bad-input sweep (tests/bad-input-sweep.ts) as a test: every case against the CLI, none may give a silent
// wrong result or hang, every refusal must name the problem and every valid control must work.
import { describe, expect, test } from 'vitest';
import { runSweep, summary, type Result } from './bad-input-sweep';

describe('bad-input sweep', () => {
  test('over 100 bad inputs: 0 silent wrong results, 0 hangs, every refusal clear', async () => {
    const results = await runSweep({ jobs: 2 });
    const n = summary(results);
    console.log(`bad-input sweep: ${JSON.stringify({ cases: results.length, ...n })}`);
    const bad = (r: Result) => r.outcome !== 'clear' && r.outcome !== 'handled';
    const line = (r: Result) => `${r.outcome} ${r.group}: ${r.name} — ${r.detail}`;
    expect(results.length).toBeGreaterThanOrEqual(100);
    expect(results.filter(bad).map(line)).toEqual([]);
  }, 30 * 60_000);
});
