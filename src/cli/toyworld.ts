// `latentlab toyworld eval --model DIR --family F --n N --seed S [--json]`: accuracy on fresh held-out items.
// The CLI main builds the Scorer (engine) and calls toyworldCommand; this file owns the item generation and scoring.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  EVAL_FAMILIES, EvalFamily, WordTokenizer, buildVocab, buildWorld, evaluateFamily, DEFAULT_WORLD_SEED, type Scorer,
} from '../toyworld/index';
import type { BindingStyle } from '../toyworld/families/binding';
import { vocabFromTokenizerJson } from '../common/vocab';

export interface ToyworldResult {
  family: EvalFamily;
  n: number;
  accuracy: number;
}

function num(v: string | boolean | undefined, def: number, name: string): number {
  if (v === undefined) return def;
  const x = Number(v);
  if (!Number.isInteger(x) || x < 0) throw new Error(`--${name} must be a non-negative integer, got ${v}`);
  return x;
}

export async function toyworldCommand(args: Record<string, string | boolean>, scorer: Scorer): Promise<ToyworldResult> {
  const family = args.family as EvalFamily;
  if (!EVAL_FAMILIES.includes(family)) throw new Error(`--family must be one of ${EVAL_FAMILIES.join('|')}, got ${args.family}`);
  const n = num(args.n, 100, 'n');
  const seed = num(args.seed, 0, 'seed');
  const world = buildWorld(num(args['world-seed'], DEFAULT_WORLD_SEED, 'world-seed'));
  const vocab = typeof args.model === 'string'
    ? vocabFromTokenizerJson(JSON.parse(readFileSync(join(args.model, 'tokenizer.json'), 'utf8')))
    : buildVocab();
  const tok = new WordTokenizer(vocab);
  const r = await evaluateFamily(family, n, seed, tok, scorer, world, {
    binding: {
      style: typeof args.style === 'string' ? (args.style as BindingStyle) : undefined,
      inject: args.inject === true || args.inject === 'true',
    },
    implications: args.set === 'held-out' ? 'held-out' : 'seen',
  });
  return { family, n, accuracy: r.accuracy };
}
