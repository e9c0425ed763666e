// Each run kind's results as table rows, for CSV export.
import type { RunRecord } from './runs';
import type { Row } from './exports';
import type { AttentionRun, LensRun, PatchingRun, SteeringRun } from './views.svelte';
import type { ShownToken } from './explore.svelte';
import type { TopToken } from '../../workers/client';

const num = (v: number | null | undefined) => (v == null || Number.isNaN(v) ? null : v);

export function runRows(r: RunRecord): Row[] {
  switch (r.kind) {
    case 'tokens': {
      const x = r.result as { tokens: ShownToken[]; top: TopToken[]; generated: ShownToken[] };
      return [
        ...x.top.map((t, i) => ({ table: 'next_token', rank: i + 1, id: t.id, text: t.text, prob: t.prob, logit: t.logit })),
        ...x.generated.map((t, i) => ({ table: 'generated', rank: i + 1, id: t.id, text: t.text, prob: null, logit: null })),
      ];
    }
    case 'lens': {
      const x = r.result as LensRun;
      return x.lens.top.flatMap((row, li) =>
        row.flatMap((cell, p) =>
          cell.map((t, rank) => ({ layer: x.lens.rows[li], position: p, input_token: x.tokens[p].text, rank: rank + 1, id: t.id, text: t.text, prob: t.prob, logit: t.logit })),
        ),
      );
    }
    case 'attention': {
      const x = r.result as AttentionRun;
      const T = x.tokens.length;
      const rows: Row[] = [];
      for (let l = 0; l < x.layers; l++)
        for (let h = 0; h < x.heads; h++)
          for (let q = 0; q < T; q++)
            for (let k = 0; k <= q; k++) rows.push({ layer: l, head: h, query: q, key: k, query_token: x.tokens[q].text, key_token: x.tokens[k].text, weight: x.patterns[l][(h * T + q) * T + k] });
      return rows;
    }
    case 'patching': {
      const x = r.result as PatchingRun;
      const rows: Row[] = [];
      const res = x.result;
      if (res.resid)
        for (let i = 0; i < res.resid.rows; i++)
          for (let p = 0; p < res.resid.cols; p++)
            rows.push({ grid: 'residual', row: res.resid.rowLabels[i], column: `${p}: ${x.clean[p].text} / ${x.corrupt[p].text}`, recovery: num(res.resid.values[i * res.resid.cols + p]) });
      if (res.heads)
        for (let l = 0; l < res.heads.rows; l++)
          for (let h = 0; h < res.heads.cols; h++)
            rows.push({ grid: 'attention heads (hook_z)', row: res.heads.rowLabels[l], column: `head ${h}`, recovery: num(res.heads.values[l * res.heads.cols + h]) });
      return rows;
    }
    case 'steering': {
      const x = r.result as SteeringRun;
      const n = Math.max(x.unsteered.length, x.steered.length);
      return Array.from({ length: n }, (_, i) => ({
        step: i + 1,
        unsteered_id: x.unsteered[i]?.id ?? null,
        unsteered: x.unsteered[i]?.text ?? null,
        steered_id: x.steered[i]?.id ?? null,
        steered: x.steered[i]?.text ?? null,
      }));
    }
  }
}
