// Command-line flags: `--name value`, `--name=value`, bare `--flag`; the first words are the command.
export type Args = Record<string, string | boolean>;

export function parseArgs(argv: string[]): { words: string[]; args: Args } {
  const words: string[] = [];
  const args: Args = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      words.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    if (eq > 0) args[a.slice(2, eq)] = a.slice(eq + 1);
    else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) args[a.slice(2)] = argv[++i];
    else args[a.slice(2)] = true;
  }
  return { words, args };
}

export function str(args: Args, name: string, fallback?: string): string {
  const v = args[name];
  if (typeof v === 'string') return v;
  if (fallback !== undefined) return fallback;
  throw new Error(`--${name} is required`);
}

export function num(args: Args, name: string, fallback: number): number {
  const v = args[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isFinite(n)) throw new Error(`--${name} must be a number, got ${String(v)}`);
  return n;
}

export function idList(text: string, flag = 'ids'): number[] {
  return text.split(',').map((s) => {
    const n = Number(s.trim());
    if (s.trim() === '' || !Number.isInteger(n)) throw new Error(`--${flag}: "${s}" is not an integer token id`);
    return n;
  });
}
