// Command-line flags: `--name value`, `--name=value`, bare `--flag`; the first words are the command. Each command
// declares the flags it reads (src/cli/flags.ts), and a flag it does not know is refused with the closest one it does:
// a misspelt flag must never be silently ignored. Values are checked by kind (integer, number, one of a list).
export type Args = Record<string, string | boolean>;

export function parseArgs(argv: string[]): { words: string[]; args: Args } {
  const words: string[] = [];
  const args: Args = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h') {
      args.help = true;
      continue;
    }
    if (!a.startsWith('--')) {
      words.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    if (name in args) throw new Error(`--${name} is given twice`);
    if (eq > 0) args[name] = a.slice(eq + 1);
    else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) args[name] = argv[++i];
    else args[name] = true;
  }
  return { words, args };
}

/** Edit distance (insertions, deletions, substitutions, and swaps of neighbours). */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The known name closest to `name`, when it is close enough to be a slip. */
export function closest(name: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const k of known) {
    const dk = distance(name, k);
    if (dk < bestD) [best, bestD] = [k, dk];
  }
  return best !== null && bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : null;
}

/** Refuses a flag `command` does not read, naming the closest one it does. */
export function checkFlags(command: string, args: Args, known: readonly string[]): void {
  for (const name of Object.keys(args)) {
    if (known.includes(name)) continue;
    const near = closest(name, known);
    throw new Error(
      `latentlab ${command} has no flag --${name}${near ? `; did you mean --${near}?` : ''} (its flags: ${known.map((k) => `--${k}`).join(' ')}; latentlab ${command} --help)`,
    );
  }
}

export function str(args: Args, name: string, fallback?: string): string {
  const v = args[name];
  if (typeof v === 'string') return v;
  if (v === true) throw new Error(`--${name} needs a value`);
  if (fallback !== undefined) return fallback;
  throw new Error(`--${name} is required`);
}

export function num(args: Args, name: string, fallback: number): number {
  const v = args[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n)) throw new Error(`--${name} must be a number, got ${String(v)}`);
  return n;
}

/** An integer flag (a fraction is refused, not rounded), at least `min` when given. */
export function int(args: Args, name: string, fallback: number, min?: number): number {
  const n = num(args, name, fallback);
  if (!Number.isInteger(n)) throw new Error(`--${name} must be a whole number, got ${String(args[name])}`);
  if (min !== undefined && n < min) throw new Error(`--${name} must be at least ${min}, got ${n}`);
  return n;
}

/** A number flag that must be > 0 (a budget, a rate). */
export function positive(args: Args, name: string, fallback: number): number {
  const n = num(args, name, fallback);
  if (!(n > 0)) throw new Error(`--${name} must be positive, got ${String(args[name])}`);
  return n;
}

/** A flag that takes one of `values`. */
export function choice<T extends string>(args: Args, name: string, values: readonly T[], fallback: T): T {
  const v = str(args, name, fallback);
  if (!values.includes(v as T)) {
    const near = closest(v, values);
    const allowed = values.length === 2 ? `${values[0]} or ${values[1]}` : `one of ${values.join(', ')}`;
    throw new Error(`--${name} must be ${allowed}, got "${v}"${near ? `; did you mean ${near}?` : ''}`);
  }
  return v as T;
}

export function idList(text: string, flag = 'ids'): number[] {
  return text.split(',').map((s) => {
    const n = Number(s.trim());
    if (s.trim() === '' || !Number.isInteger(n)) throw new Error(`--${flag}: "${s}" is not an integer token id`);
    return n;
  });
}
