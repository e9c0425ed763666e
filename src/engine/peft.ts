// LoRA adapters in PEFT's layout: adapter_config.json + adapter_model.safetensors with tensors named
// base_model.model.<module>.lora_A.weight [r, in] and .lora_B.weight [out, r]. Also merging an
// adapter into the model's weights (W += scale · B · A), written into the engine's fused layout.

import { Pass, type Runtime } from '../gpu/runtime';
import type { ModelConfig } from './config';
import type { ModelFiles } from './files';
import { matmulStrided } from './grad-ops';
import { LoraAdapter, allModules, checkDropout, moduleSlices, type LinearSite } from './lora';
import { parseSafetensors, tensorToFloat32, writeSafetensors } from './safetensors';
import type { Weights } from './weights';
import { packedWeightOf } from './packed-weights';

const PREFIX = 'base_model.model.';

export interface PeftFiles {
  'adapter_config.json': string;
  'adapter_model.safetensors': Uint8Array;
}

/** Serialise an adapter (its tensors read back from the GPU by the caller) in PEFT's layout. */
export async function exportPeft(rt: Runtime, cfg: ModelConfig, lora: LoraAdapter, baseModel = ''): Promise<PeftFiles> {
  const pass = new Pass(rt);
  const reads = [...lora.modules.values()].map((m) => ({
    m,
    A: pass.read(m.A, m.rank * m.inDim * 4),
    B: pass.read(m.B, m.outDim * m.rank * 4),
  }));
  await pass.submit();
  const tensors: Parameters<typeof writeSafetensors>[0] = {};
  for (const r of reads) {
    tensors[`${PREFIX}${r.m.name}.lora_A.weight`] = { dtype: 'F32', shape: [r.m.rank, r.m.inDim], data: await r.A };
    tensors[`${PREFIX}${r.m.name}.lora_B.weight`] = { dtype: 'F32', shape: [r.m.outDim, r.m.rank], data: await r.B };
  }
  const config = {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: baseModel,
    r: lora.config.rank,
    lora_alpha: lora.config.alpha,
    lora_dropout: lora.config.dropout ?? 0,
    target_modules: lora.config.targets,
    bias: 'none',
    fan_in_fan_out: cfg.arch === 'gpt2',
    inference_mode: true,
  };
  return { 'adapter_config.json': JSON.stringify(config, null, 2), 'adapter_model.safetensors': writeSafetensors(tensors, { format: 'pt' }) };
}

export async function importPeft(rt: Runtime, cfg: ModelConfig, files: ModelFiles): Promise<LoraAdapter> {
  const cfgBytes = await files.read('adapter_config.json');
  if (!cfgBytes) throw new Error(`${files.label}: adapter_config.json is missing`);
  let ac: Record<string, unknown>;
  try {
    ac = JSON.parse(new TextDecoder().decode(cfgBytes));
  } catch (e) {
    throw new Error(`${files.label}/adapter_config.json is not valid JSON: ${(e as Error).message}`);
  }
  if (ac.peft_type !== 'LORA') throw new Error(`${files.label}: peft_type "${String(ac.peft_type)}" is not supported (only LORA)`);
  const rank = Number(ac.r);
  const alpha = Number(ac.lora_alpha ?? rank);
  const targets = Array.isArray(ac.target_modules) ? (ac.target_modules as string[]) : [String(ac.target_modules)];
  // rsLoRA scales by alpha / √r; the engine's scale is alpha / r, so fold the difference into alpha.
  const effAlpha = ac.use_rslora === true ? alpha * Math.sqrt(rank) : alpha;
  const bytes = await files.read('adapter_model.safetensors');
  if (!bytes) throw new Error(`${files.label}: adapter_model.safetensors is missing`);
  const st = parseSafetensors(bytes, `${files.label}/adapter_model.safetensors`);
  const modules = new Map(allModules(cfg).map((m) => [m.name, m]));
  const dropout = Number(ac.lora_dropout ?? 0);
  checkDropout(dropout);
  const lora = new LoraAdapter({ rank, alpha: effAlpha, targets, dropout });
  for (const [name, info] of st.tensors) {
    const m = /^base_model\.model\.(.+)\.lora_A(?:\.default)?\.weight$/.exec(name);
    if (!m) continue;
    const mod = modules.get(m[1]);
    if (!mod) throw new Error(`${files.label}: adapter module ${m[1]} does not exist in this ${cfg.arch} model`);
    const bName = name.replace('lora_A', 'lora_B');
    const bInfo = st.tensors.get(bName);
    if (!bInfo) throw new Error(`${files.label}: ${bName} is missing`);
    lora.add(rt, mod.name, tensorToFloat32(bytes, info, st.dataOffset), tensorToFloat32(bytes, bInfo, st.dataOffset), mod.inDim, mod.width);
  }
  if (!lora.modules.size) throw new Error(`${files.label}: adapter_model.safetensors holds no LoRA tensors`);
  return lora;
}

/** W += scale · B · A for every module, in place; the adapter is then no longer needed. */
export async function mergeLora(rt: Runtime, cfg: ModelConfig, w: Weights, lora: LoraAdapter): Promise<void> {
  const pass = new Pass(rt);
  for (let i = -1; i < cfg.nLayers; i++) {
    const sites: LinearSite[] = i < 0 ? ['lm_head'] : ['qkv', 'o', 'up', 'down'];
    for (const site of sites) {
      const weight = site === 'lm_head' ? w.lmHead : w.blocks[i][site].w;
      for (const s of moduleSlices(cfg, site, i)) {
        const m = lora.modules.get(s.name);
        if (!m) continue;
        if (packedWeightOf(weight)) throw new Error(`cannot merge into ${s.name}: its weights are quantized or split (load the model with dtype f32)`);
        if (site === 'lm_head' && cfg.tiedEmbeddings) throw new Error('cannot merge an lm_head adapter into tied embeddings (it would change the input embeddings too)');
        matmulStrided(pass, s.width, s.inDim, m.rank, { buf: m.B, rows: m.rank, cols: 1 }, { buf: m.A, rows: s.inDim, cols: 1 }, { buf: weight, offset: s.offset * s.inDim, rows: s.inDim, cols: 1 }, m.scale, 1);
      }
    }
  }
  await pass.submit();
}
