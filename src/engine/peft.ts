// LoRA adapters in PEFT's layout: adapter_config.json + adapter_model.safetensors with tensors named
// base_model.model.<module>.lora_A.weight [r, in] and .lora_B.weight [out, r]. Also merging an
// adapter into the model's weights (W += scale · B · A), written into the engine's fused layout.

import { Pass, type Runtime } from '../gpu/runtime';
import type { ModelConfig } from './config';
import type { ModelFiles } from './files';
import { matmulStrided } from './grad-ops';
import { LoraAdapter, allModules, checkDropout, matchesTarget, moduleSlices, type LinearSite } from './lora';
import { parseSafetensors, tensorToFloat32, writeSafetensors } from './safetensors';
import type { Weights } from './weights';
import { packedWeightOf } from './packed-weights';
import { checkFinite } from './checkpoint';

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
    const [A, B] = [await r.A, await r.B];
    checkFinite(`adapter ${r.m.name}.lora_A`, A);
    checkFinite(`adapter ${r.m.name}.lora_B`, B);
    tensors[`${PREFIX}${r.m.name}.lora_A.weight`] = { dtype: 'F32', shape: [r.m.rank, r.m.inDim], data: A };
    tensors[`${PREFIX}${r.m.name}.lora_B.weight`] = { dtype: 'F32', shape: [r.m.outDim, r.m.rank], data: B };
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
  const where = `${files.label}/adapter_config.json`;
  const cfgBytes = await files.read('adapter_config.json');
  if (!cfgBytes) throw new Error(`${files.label}: adapter_config.json is missing`);
  let ac: Record<string, unknown>;
  try {
    ac = JSON.parse(new TextDecoder().decode(cfgBytes));
  } catch (e) {
    throw new Error(`${where} is not valid JSON: ${(e as Error).message}`);
  }
  if (!ac || typeof ac !== 'object' || Array.isArray(ac)) throw new Error(`${where} is not a JSON object`);
  if (ac.peft_type !== 'LORA') throw new Error(`${files.label}: peft_type "${String(ac.peft_type)}" is not supported (only LORA)`);
  const rank = ac.r as number;
  if (!Number.isSafeInteger(rank) || rank <= 0) throw new Error(`${where}: "r" is ${JSON.stringify(rank) ?? 'missing'}; it must be a positive integer`);
  const alpha = (ac.lora_alpha ?? rank) as number;
  if (typeof alpha !== 'number' || !Number.isFinite(alpha)) throw new Error(`${where}: "lora_alpha" is ${JSON.stringify(alpha)}; it must be a number`);
  for (const key of ['rank_pattern', 'alpha_pattern']) {
    const v = ac[key];
    if (v && typeof v === 'object' && Object.keys(v).length) throw new Error(`${where}: "${key}" (per-module ranks or alphas) is not supported; every module must use r ${rank} and lora_alpha ${alpha}`);
  }
  const t = ac.target_modules;
  if (!(typeof t === 'string' || (Array.isArray(t) && t.length && t.every((x) => typeof x === 'string')))) {
    throw new Error(`${where}: "target_modules" is ${JSON.stringify(t) ?? 'missing'}; it must be a list of module names or one name`);
  }
  const targets = typeof t === 'string' ? [t] : (t as string[]);
  // rsLoRA scales by alpha / √r; the engine's scale is alpha / r, so fold the difference into alpha.
  const effAlpha = ac.use_rslora === true ? alpha * Math.sqrt(rank) : alpha;
  const file = `${files.label}/adapter_model.safetensors`;
  const bytes = await files.read('adapter_model.safetensors');
  if (!bytes) throw new Error(`${files.label}: adapter_model.safetensors is missing`);
  const st = parseSafetensors(bytes, file);
  const modules = new Map(allModules(cfg).map((m) => [m.name, m]));
  const dropout = Number(ac.lora_dropout ?? 0);
  checkDropout(dropout);

  // Every tensor is checked (name, shape, values) before anything goes to the GPU.
  const found = new Map<string, { A?: Float32Array; B?: Float32Array }>();
  for (const [name, info] of st.tensors) {
    const m = /^base_model\.model\.(.+)\.lora_([AB])(?:\.default)?\.weight$/.exec(name);
    if (!m) throw new Error(`${file}: tensor ${name} is not a LoRA weight (base_model.model.<module>.lora_A.weight or lora_B.weight); other PEFT tensors (biases, embeddings, DoRA magnitudes) are not supported`);
    const mod = modules.get(m[1]);
    if (!mod) throw new Error(`${file}: adapter module ${m[1]} does not exist in this ${cfg.arch} model`);
    const want = m[2] === 'A' ? [rank, mod.inDim] : [mod.width, rank];
    if (info.shape.length !== 2 || info.shape[0] !== want[0] || info.shape[1] !== want[1]) {
      const flipped = info.shape.length === 2 && info.shape[0] === want[1] && info.shape[1] === want[0];
      throw new Error(`${file}: ${name} has shape [${info.shape}] but r ${rank} and this model need [${want}]${flipped ? ' (transposed?)' : ''}`);
    }
    const values = tensorToFloat32(bytes, info, st.dataOffset);
    const bad = values.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new Error(`${file}: ${name} holds ${values[bad]} at [${Math.floor(bad / want[1])}, ${bad % want[1]}]; an adapter must be finite`);
    const entry = found.get(m[1]) ?? {};
    entry[m[2] as 'A' | 'B'] = values;
    found.set(m[1], entry);
  }
  if (!found.size) throw new Error(`${file} holds no LoRA tensors`);
  // target_modules and the tensors must agree: a module trained but not targeted, or targeted but absent, is a
  // mismatched adapter ("all-linear" targets every linear module but the head, as PEFT means it).
  const allLinear = targets.includes('all-linear');
  for (const [name, ab] of found) {
    if (!ab.A || !ab.B) throw new Error(`${file}: ${name} has lora_${ab.A ? 'A' : 'B'} but no lora_${ab.A ? 'B' : 'A'}`);
    if (!allLinear && !matchesTarget(name, targets)) throw new Error(`${file} has LoRA tensors for ${name}, which target_modules ${JSON.stringify(targets)} in ${where} does not name`);
  }
  for (const target of targets) {
    if (target !== 'all-linear' && ![...found.keys()].some((n) => matchesTarget(n, [target]))) {
      throw new Error(`${where}: target_modules names "${target}" but ${file} holds no tensors for it`);
    }
  }
  const lora = new LoraAdapter({ rank, alpha: effAlpha, targets, dropout });
  for (const [name, ab] of found) lora.add(rt, name, ab.A!, ab.B!, modules.get(name)!.inDim, modules.get(name)!.width);
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
