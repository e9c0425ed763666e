// Model card text from training.json (trainer) and engine evaluation results.

export interface CardEval {
  label: string;
  family: string;
  n: number;
  seed: number;
  accuracy: number;
  stderr: number;
}

interface Training {
  steps: number;
  minutes: number;
  batch: number;
  seq_len: number;
  lr: number;
  context_weight: number;
  binding_share?: number | null;
  /** v2 runs: the phase rule (train.py V2_ADVANCE); the history rows carry the phase. */
  phase_advance?: [string[], number][] | null;
  minutes_budget?: number | null;
  params: number;
  history: Record<string, number>[];
  stats: { seed: number; worldSeed: number; vocabSize: number; streams: Record<string, { docs: number; tokens: number; answerTokens: number }> };
  tokens_seen: Record<string, number>;
}

/** Targets of the issue for toy-m (family label → minimum accuracy). */
export const TARGETS: Record<string, number> = { binding: 0.9, implications: 0.9, persona: 0.9 };

const pct = (x: number) => x.toFixed(3);

export function renderCard(
  name: string, config: Record<string, number | string | boolean>, t: Training, evals: CardEval[], notes: string,
  source: 'engine' | 'trainer' = 'engine',
): string {
  const last = t.history[t.history.length - 1] ?? {};
  const streams = Object.entries(t.stats.streams);
  const totalSeen = Object.values(t.tokens_seen).reduce((a, b) => a + b, 0);
  const lines = [
    `# ${name}`,
    '',
    `A small Llama-architecture model (\`LlamaForCausalLM\`, f32 safetensors, Hugging Face layout) trained from scratch on the`,
    `LatentLab toy world (\`src/toyworld/\`, world seed ${t.stats.worldSeed}, data seed ${t.stats.seed}). Closed word-level`,
    `vocabulary of ${t.stats.vocabSize} tokens; chat template in \`tokenizer_config.json\`. Rebuild with \`tools/toyworld/\` (see its README).`,
    '',
    '## Architecture',
    '',
    '| parameters | layers | hidden | heads | head dim | MLP | context | RoPE θ | tied embeddings |',
    '|---|---|---|---|---|---|---|---|---|',
    `| ${t.params.toLocaleString('en-US')} | ${config.num_hidden_layers} | ${config.hidden_size} | ${config.num_attention_heads} | ${config.head_dim} | ${config.intermediate_size} (SwiGLU) | ${config.max_position_embeddings} | ${config.rope_theta} | ${config.tie_word_embeddings} |`,
    '',
    '## Training',
    '',
    `${t.steps.toLocaleString('en-US')} steps of AdamW (peak lr ${t.lr}, warmup, cosine to 10 %), batch ${t.batch} rows × ${t.seq_len} tokens`,
    `(documents packed whole, attention and positions reset per document), ${t.minutes} minutes wall time on a shared 2-core CPU`,
    `(PyTorch 1.13, 1 thread). Loss: cross-entropy with weight 1 on answer tokens and ${t.context_weight} on all others.`,
    t.phase_advance
      ? `Toy world v2 recipe: induction data and dense recall (answer 0 and 1 tokens after the queried name, then the natural questions) in phases advanced on held-out accuracy (\`V2_BINDING\` in \`train.py\`); phase at the last evaluation: ${last.phase ?? 'n/a'}.`
      : `Binding mixed at ${Math.round((t.binding_share ?? 0.57) * 100)} % of rows with a curriculum 1 → 2 → 3–4 entities (\`mixture()\` in \`train.py\`).`,
    ...(t.minutes_budget && t.minutes < t.minutes_budget - 1
      ? [`Exported from a run in progress (${t.minutes} of its ${t.minutes_budget} minutes): the learning rate was not yet annealed.`]
      : []),
    `Final training loss ${last.loss ?? 'n/a'}; answer-token cross-entropy (moving average) ${last.answer_ce ?? 'n/a'}.`,
    '',
    '## Data',
    '',
    `About ${(totalSeen / 1e6).toFixed(1)} M tokens drawn in training (expected non-pad tokens by the mixture schedule).`,
    '',
    '| stream | documents generated | tokens generated | answer tokens | tokens drawn in training |',
    '|---|---|---|---|---|',
    ...streams.map(([s, v]) => `| ${s} | ${v.docs} | ${v.tokens} | ${v.answerTokens} | ${t.tokens_seen[s] ?? 0} |`),
    '',
    ...(source === 'engine'
      ? [
          '## Held-out accuracy (LatentLab engine)',
          '',
          'Measured by `tools/toyworld/card.ts` with the LatentLab WGSL engine on freshly generated held-out items',
          '(`latentlab toyworld eval --model DIR --family F --n N --seed S --json` reproduces a row). ± is the binomial standard error.',
        ]
      : [
          '## Held-out accuracy — DRAFT: trainer numbers (PyTorch), not yet measured by the LatentLab engine',
          '',
          'These come from `train.py`\'s final evaluation on the held-out items of `eval.json` (same scoring rules as',
          '`src/toyworld/eval.ts`). `tools/toyworld/card.ts` replaces them with engine measurements.',
        ]),
    '',
    `| evaluation | n | seed | accuracy | ${name === 'toy-m' ? 'target' : 'target (set for toy-m)'} |`,
    '|---|---|---|---|---|',
    ...evals.map((e) => {
      const target = TARGETS[e.label];
      const verdict = target === undefined ? '' : e.accuracy >= target ? `≥ ${target}: met` : `≥ ${target}: missed by ${pct(target - e.accuracy)}`;
      return `| ${e.label} | ${e.n} | ${e.seed} | ${pct(e.accuracy)} ± ${pct(e.stderr)} | ${verdict} |`;
    }),
    '',
    'What is scored: binding — next token after `Answer :` on new random contexts with 2–3 entities (chance ≈ 0.42 when',
    'guessing among the context’s values); implications — two-hop questions (person → country, person → language,',
    'landmark → country) about people and landmarks seen in pretraining; persona — the greedy reply opens with the',
    'persona’s marker word and mentions one of its topics; arithmetic — the number after `Answer :` in the greedy',
    'chain of thought; sentiment and judgement — next token (`positive`/`negative`, `yes`/`no`; chance 0.5).',
    '',
    '## Trainer-side numbers (PyTorch, for comparison)',
    '',
    '| step | minutes | ' + Object.keys(last).filter((k) => !['step', 'minutes', 'loss', 'answer_ce'].includes(k)).join(' | ') + ' |',
    '|---|---|' + Object.keys(last).filter((k) => !['step', 'minutes', 'loss', 'answer_ce'].includes(k)).map(() => '---').join('|') + '|',
    ...t.history.map((h) => `| ${h.step} | ${h.minutes} | ` + Object.keys(last).filter((k) => !['step', 'minutes', 'loss', 'answer_ce'].includes(k)).map((k) => h[k] ?? '').join(' | ') + ' |'),
    '',
  ];
  if (notes) lines.push('## Notes', '', notes.trim(), '');
  return lines.join('\n');
}
