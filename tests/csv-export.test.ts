// CSV exports never hand a spreadsheet a formula: text cells that start like one are escaped, numbers are not.
import { describe, expect, test } from 'vitest';
import Papa from 'papaparse';
import { toCsv } from '../src/ui/state/exports';

describe('CSV export', () => {
  test('formula-like text is escaped, ordinary text and numbers are kept', () => {
    const rows = [
      { token: '=HYPERLINK("http://example.com","click")', score: -1.5 },
      { token: '+SUM(A1:A9)', score: 2 },
      { token: '@cmd', score: 0 },
      { token: '-2+3', score: null },
      { token: '\tindent', score: 1e-3 },
      { token: 'plain, with "quotes"', score: 3 },
    ];
    const csv = toCsv(rows);
    const back = Papa.parse<string[]>(csv.trim()).data;
    expect(back[0]).toEqual(['token', 'score']);
    expect(back.slice(1).map((r) => r[0])).toEqual([`'=HYPERLINK("http://example.com","click")`, "'+SUM(A1:A9)", "'@cmd", "'-2+3", "'\tindent", 'plain, with "quotes"']);
    expect(back.slice(1).map((r) => r[1])).toEqual(['-1.5', '2', '0', '', '0.001', '3']);
    // No cell of the file begins with a formula character.
    expect(back.flat().some((cell) => /^[=+@\t\r]/.test(cell) || /^-[^0-9]/.test(cell))).toBe(false);
  });
});
