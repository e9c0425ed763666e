// Recommended Hub models with what they cost: download size and GPU memory of the weights per dtype
// (parameters × bytes per parameter: f32 4, f16 2, q8 1.125, q4 0.625 for linears with the embedding at q8).
export interface HubModel {
  repo: string;
  params: string;
  download: string;
  gpu: { f32: string; f16: string; q8: string; q4: string };
  note?: string;
}

export const HUB_MODELS: HubModel[] = [
  { repo: 'HuggingFaceTB/SmolLM2-135M-Instruct', params: '135M', download: '0.27 GB (BF16)', gpu: { f32: '0.54 GB', f16: '0.27 GB', q8: '0.15 GB', q4: '0.09 GB' } },
  { repo: 'HuggingFaceTB/SmolLM2-360M-Instruct', params: '362M', download: '0.72 GB (BF16)', gpu: { f32: '1.45 GB', f16: '0.72 GB', q8: '0.41 GB', q4: '0.24 GB' } },
  { repo: 'Qwen/Qwen2.5-0.5B-Instruct', params: '494M', download: '0.99 GB (BF16)', gpu: { f32: '1.98 GB', f16: '0.99 GB', q8: '0.56 GB', q4: '0.36 GB' } },
  { repo: 'meta-llama/Llama-3.2-1B-Instruct', params: '1.24B', download: '2.47 GB (BF16)', gpu: { f32: '4.94 GB', f16: '2.47 GB', q8: '1.39 GB', q4: '0.85 GB' }, note: 'gated: needs an access token' },
  { repo: 'openai-community/gpt2', params: '124M', download: '0.55 GB (F32)', gpu: { f32: '0.50 GB', f16: '0.25 GB', q8: '0.14 GB', q4: '0.09 GB' } },
];
