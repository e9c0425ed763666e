// `latentlab toyworld eval --model DIR --family F --n N --seed S [--json]`: accuracy on fresh held-out items.
// The CLI main builds the Scorer (engine) and calls toyworldCommand; this file owns the item generation and scoring.
// Family options: binding --style held-out, --inject true|append|prepend; --set picks a split or task:
// implications seen|held-out|compose, arithmetic standard|hard, refusal mixed|restricted|other, cipher spell|join|encode|decode.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ALL_EVAL_FAMILIES, EvalFamily, EvalOptions, WordTokenizer, buildVocabV2, buildWorld, evaluateFamily, DEFAULT_WORLD_SEED,
  type Scorer,
} from '../toyworld/index';
import type { BindingStyle } from '../toyworld/families/binding';
import { vocabFromTokenizerJson } from '../common/vocab';

export interface ToyworldResult {
  family: EvalFamily;
  n: number;
  accuracy: number;
  /** Binomial standard error of the accuracy. */
  stderr: number;
}

function num(v: string | boolean | undefined, def: number, name: string): number {
  if (v === undefined) return def;
  const x = Number(v);
  if (!Number.isInteger(x) || x < 0) throw new Error(`--${name} must be a non-negative integer, got ${v}`);
  return x;
}

function oneOf<T extends string>(v: string | boolean | undefined, allowed: readonly T[], name: string): T | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) throw new Error(`--${name} must be one of ${allowed.join('|')}, got ${v}`);
  return v as T;
}

/** The values `--set` takes per family (the split or task evaluated). */
const SETS: Partial<Record<EvalFamily, readonly string[]>> = {
  implications: ['seen', 'held-out', 'compose'],
  arithmetic: ['standard', 'hard'],
  refusal: ['mixed', 'restricted', 'other'],
  cipher: ['spell', 'join', 'encode', 'decode'],
};

/** Family options from the flags; a flag that does not apply to the family is an error, not ignored. */
function evalOptions(family: EvalFamily, args: Record<string, string | boolean>): EvalOptions {
  for (const f of ['style', 'inject']) {
    if (args[f] !== undefined && family !== 'binding') throw new Error(`--${f} does not apply to --family ${family}`);
  }
  if (args.set !== undefined && !SETS[family]) throw new Error(`--set does not apply to --family ${family}`);
  const set = SETS[family] ? oneOf(args.set, SETS[family]!, 'set') : undefined;
  const inject = oneOf(args.inject === true ? 'true' : args.inject, ['true', 'false', 'append', 'prepend'] as const, 'inject');
  return {
    binding: {
      style: oneOf<BindingStyle>(args.style, ['separate', 'interleaved', 'joined', 'held-out'], 'style'),
      inject: inject === 'true' ? true : inject === 'false' ? false : inject,
    },
    implications: family === 'implications' ? (set as EvalOptions['implications']) : undefined,
    arithmetic: family === 'arithmetic' ? (set as EvalOptions['arithmetic']) : undefined,
    refusal: family === 'refusal' ? (set as EvalOptions['refusal']) : undefined,
    cipher: family === 'cipher' ? (set as EvalOptions['cipher']) : undefined,
  };
}

export async function toyworldCommand(args: Record<string, string | boolean>, scorer: Scorer): Promise<ToyworldResult> {
  const family = args.family as EvalFamily;
  if (!ALL_EVAL_FAMILIES.includes(family)) throw new Error(`--family must be one of ${ALL_EVAL_FAMILIES.join('|')}, got ${args.family}`);
  const n = num(args.n, 100, 'n');
  const seed = num(args.seed, 0, 'seed');
  const world = buildWorld(num(args['world-seed'], DEFAULT_WORLD_SEED, 'world-seed'));
  const vocab = typeof args.model === 'string'
    ? vocabFromTokenizerJson(JSON.parse(readFileSync(join(args.model, 'tokenizer.json'), 'utf8')))
    : buildVocabV2();
  const tok = new WordTokenizer(vocab);
  const r = await evaluateFamily(family, n, seed, tok, scorer, world, evalOptions(family, args));
  return { family, n, accuracy: r.accuracy, stderr: r.stderr };
}
