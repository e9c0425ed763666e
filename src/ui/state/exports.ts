// Downloads: JSON, CSV (papaparse) and PNG (a canvas's toBlob), named after the run.
import Papa from 'papaparse';

export type Row = Record<string, string | number | null>;

export function downloadBlob(blob: Blob, filename: string): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

export function downloadText(text: string, filename: string, type: string): void {
  downloadBlob(new Blob([text], { type }), filename);
}

/**
 * Rows as CSV. A cell starting with = + - @ tab or CR (a token such as `=HYPERLINK(...)`) is prefixed with ' so
 * that a spreadsheet shows it as text instead of running it as a formula; numbers stay numbers.
 */
export function toCsv(rows: Row[]): string {
  return Papa.unparse(rows, { newline: '\n', escapeFormulae: true });
}

export function downloadCsv(rows: Row[], filename: string): void {
  downloadText(toCsv(rows), filename, 'text/csv');
}

export function downloadPng(canvas: HTMLCanvasElement, filename: string): Promise<void> {
  return new Promise((ok, fail) =>
    canvas.toBlob((b) => {
      if (!b) return fail(new Error('the chart could not be encoded as PNG'));
      downloadBlob(b, filename);
      ok();
    }, 'image/png'),
  );
}

/** A file name from a run name: letters, digits, dashes. */
export const fileStem = (name: string): string => name.trim().replace(/[^\p{L}\p{N}._-]+/gu, '-').replace(/^-+|-+$/g, '') || 'run';
