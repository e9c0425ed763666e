// CLI arguments as a user mistypes them: every command declares its flags (src/cli/flags.ts), so a misspelt or
// unknown flag is refused with the closest known one before anything loads; enumerated flags, integers and budgets
// are checked; --max-new-tokens is capped by the context with a note; --help prints usage on stdout and exits 0;
// stdout carries exactly one JSON object.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { checkFlags, closest, int, parseArgs } from '../src/cli/args';
import { COMMAND_FLAGS } from '../src/cli/flags';
import { writeTinyModel } from './fixtures/tiny-models';

const BIN = fileURLToPath(new URL('../bin/latentlab.js', import.meta.url));
const STORIES = fileURLToPath(new URL('../../shared/models/stories260K', import.meta.url));

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((ok) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 120_000 }, (e, stdout, stderr) => ok({ code: e ? ((e as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

/** A refused command: exit 1, nothing on stdout, the message on stderr. */
async function refused(args: string[], message: RegExp): Promise<void> {
  const r = await cli(...args);
  expect(r.code, r.stderr).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(message);
}

describe('flag parsing (in process)', () => {
  test('the closest known flag is offered for a slip, none for something unrelated', () => {
    expect(closest('max-new-token', COMMAND_FLAGS.generate)).toBe('max-new-tokens');
    expect(closest('temprature', COMMAND_FLAGS.generate)).toBe('temperature');
    expect(closest('modle', COMMAND_FLAGS.logits)).toBe('model');
    expect(closest('frobnicate', COMMAND_FLAGS.generate)).toBeNull();
    expect(() => checkFlags('generate', { model: 'x', 'max-new-token': '5' }, COMMAND_FLAGS.generate)).toThrow(/no flag --max-new-token; did you mean --max-new-tokens\?/);
    expect(() => checkFlags('generate', { frobnicate: true }, COMMAND_FLAGS.generate)).toThrow(/has no flag --frobnicate \(its flags: --model/);
  });

  test('integers refuse fractions and values below their bound; a flag given twice is refused', () => {
    expect(int({ n: '3' }, 'n', 0)).toBe(3);
    expect(() => int({ n: '2.5' }, 'n', 0)).toThrow(/--n must be a whole number, got 2.5/);
    expect(() => int({ n: '0' }, 'n', 0, 1)).toThrow(/--n must be at least 1, got 0/);
    expect(() => int({ n: 'x' }, 'n', 0)).toThrow(/--n must be a number, got x/);
    expect(() => parseArgs(['generate', '--seed', '1', '--seed=2'])).toThrow(/--seed is given twice/);
  });
});

describe('the CLI', () => {
  test('a misspelt flag is refused with the closest one, before the model loads', async () => {
    await refused(['generate', '--model', STORIES, '--ids', '1', '--max-new-token', '5', '--json'], /no flag --max-new-token; did you mean --max-new-tokens\?/);
    await refused(['lens', '--modle', STORIES, '--ids', '1', '--json'], /latentlab lens has no flag --modle; did you mean --model\?/);
    await refused(['toyworld', 'eval', '--model', STORIES, '--familly', 'persona', '--json'], /toyworld eval has no flag --familly; did you mean --family\?/);
    await refused(['logit', '--model', STORIES, '--ids', '1', '--json'], /unknown command "logit"; did you mean logits\?/);
  });

  test('enumerated flags name their values', async () => {
    await refused(['logits', '--model', STORIES, '--ids', '1', '--dtype', 'f64', '--json'], /--dtype must be one of auto, f32, f16, q8, q4, got "f64"/);
    await refused(['logits', '--model', STORIES, '--ids', '1', '--past-context', 'maybe', '--json'], /--past-context must be refuse or warn, got "maybe"/);
    await refused(['patch', '--model', STORIES, '--clean-ids', '1,2', '--corrupt-ids', '1,3', '--answer-id', '4', '--wrong-id', '5', '--sweep', 'head', '--json'], /--sweep must be one of both, resid, heads, got "head"; did you mean heads\?/);
  });

  test('integer flags refuse fractions', async () => {
    await refused(['generate', '--model', STORIES, '--ids', '1', '--max-new-tokens', '2.5', '--json'], /--max-new-tokens must be a whole number, got 2.5/);
    await refused(['generate', '--model', STORIES, '--ids', '1', '--top-k', '1.5', '--json'], /--top-k must be a whole number/);
    await refused(['logprobs', '--model', STORIES, '--ids', '1,2', '--from', '0.5', '--json'], /--from must be a whole number/);
    await refused(['lens', '--model', STORIES, '--ids', '1,2', '--k', '0', '--json'], /--k must be at least 1/);
  });

  test('--gpu-budget-mb must be positive', async () => {
    await refused(['logits', '--model', STORIES, '--ids', '1', '--gpu-budget-mb', '0', '--json'], /--gpu-budget-mb must be positive, got 0/);
    await refused(['logits', '--model', STORIES, '--ids', '1', '--gpu-budget-mb', '-5', '--json'], /--gpu-budget-mb must be positive, got -5/);
  });

  test('--max-new-tokens is capped by the context, saying so on stderr and in the JSON', async () => {
    const dir = writeTinyModel('gpt2', 2); // n_positions 64
    const r = await cli('generate', '--model', dir, '--ids', '1,2,3', '--max-new-tokens', '500', '--stop', '999999', '--json');
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.note).toMatch(/--max-new-tokens 500 capped to 61: the prompt's 3 tokens and the new ones must fit the model's context of 64/);
    expect(json.ids).toHaveLength(61);
    expect(r.stderr).toMatch(/note: --max-new-tokens 500 capped to 61/);
  });

  test('finetune --out in a place that cannot be written is refused before training', async () => {
    await refused(['finetune', '--model', STORIES, '--ids', '1,2,3,4', '--steps', '1', '--out', '/proc/latentlab-x', '--json'], /--out \/proc\/latentlab-x cannot be created .*nothing was trained/);
  });

  test('--help prints usage on stdout and exits 0; <command> --help prints that command', async () => {
    for (const flag of ['--help', '-h']) {
      const r = await cli(flag);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^usage: latentlab <command> \[flags\]/);
      expect(r.stdout).toMatch(/\n {2}steer {4}--model DIR/);
      expect(r.stderr).toBe('');
    }
    const g = await cli('generate', '--help');
    expect(g.code).toBe(0);
    expect(g.stdout).toMatch(/\n {2}generate --model DIR/);
    expect(g.stdout).not.toMatch(/\n {2}logits/);
    expect(g.stdout).toMatch(/--dtype f32\|f16\|q8\|q4\|auto/);
  });

  test('stdout carries exactly one JSON object, whatever goes to stderr', async () => {
    const r = await cli('logits', '--model', STORIES, '--ids', '1,2', '--json');
    expect(r.code).toBe(0);
    expect(r.stdout.endsWith('\n')).toBe(true);
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(1);
    expect(Object.keys(JSON.parse(r.stdout))).toEqual(['logits']);
    expect(r.stderr).toMatch(/adapter: /);
  });
});
