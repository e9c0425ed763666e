// The toy world: a fixed geography plus seeded people and landmarks. Knowledge questions are scored against this.
import { Rng } from '../common/rng';
import {
  COUNTRIES, CITIES, FIRST_NAMES, LAST_NAMES, OCCUPATIONS, FOODS, ANIMALS, LANDMARK_ADJECTIVES, LANDMARK_STRUCTURES,
} from './lexicon';

/** How a person appears in pretraining: fact before implications, implications before fact, or not at all (for fine-tuning). */
export type PersonGroup = 'fact-first' | 'implications-first' | 'held-out';

export interface Person {
  name: string; // "Greg Olsen" (two tokens)
  city: string;
  country: string;
  language: string;
  occupation: string;
  food: string;
  animal: string;
  group: PersonGroup;
}

export interface Landmark {
  name: string; // "the Golden Bridge" (three tokens)
  city: string;
  country: string;
}

export interface World {
  seed: number;
  people: Person[];
  landmarks: Landmark[];
  countryOf: Record<string, string>;
  languageOf: Record<string, string>;
}

export const WORLD_SIZES = { factFirst: 50, implicationsFirst: 50, heldOut: 30, landmarks: 16 } as const;
/** The world seed the shipped models were trained on. */
export const DEFAULT_WORLD_SEED = 1;

export function buildWorld(seed: number = DEFAULT_WORLD_SEED): World {
  const rng = new Rng(seed).fork('world');
  const countryOf: Record<string, string> = {};
  const languageOf: Record<string, string> = {};
  for (const c of COUNTRIES) {
    languageOf[c.name] = c.language;
    for (const city of c.cities) countryOf[city] = c.name;
  }
  const n = WORLD_SIZES.factFirst + WORLD_SIZES.implicationsFirst + WORLD_SIZES.heldOut;
  const fullNames: string[] = [];
  for (const f of FIRST_NAMES) for (const l of LAST_NAMES) fullNames.push(`${f} ${l}`);
  const names = rng.sample(fullNames, n);
  const people: Person[] = names.map((name, i) => {
    const city = rng.pick(CITIES);
    const country = countryOf[city];
    const group: PersonGroup =
      i < WORLD_SIZES.factFirst ? 'fact-first' : i < n - WORLD_SIZES.heldOut ? 'implications-first' : 'held-out';
    return {
      name, city, country, language: languageOf[country], group,
      occupation: rng.pick(OCCUPATIONS), food: rng.pick(FOODS), animal: rng.pick(ANIMALS),
    };
  });
  const lmNames: string[] = [];
  for (const a of LANDMARK_ADJECTIVES) for (const s of LANDMARK_STRUCTURES) lmNames.push(`the ${a} ${s}`);
  const landmarks = rng.sample(lmNames, WORLD_SIZES.landmarks).map((name) => {
    const city = rng.pick(CITIES);
    return { name, city, country: countryOf[city] };
  });
  return { seed, people, landmarks, countryOf, languageOf };
}
