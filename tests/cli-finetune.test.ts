// `latentlab finetune` writes a PEFT adapter; `--adapter` applies it; `--checkpoint` resumes a run;
// `--lora-dropout` and `--recompute` reach the trainer. `--full` writes a Hugging Face folder and `--delta-out`
// the weight delta; nonsense values, unwritable outputs and diverging runs are refused with nothing written.
import { describe, expect, test } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { writeTinyModel } from './fixtures/tiny-models';
import { nodeGpu } from '../src/gpu/node';
import { Model } from '../src/engine/model';
import { folderFiles } from '../src/engine/files-node';
import { importPeft } from '../src/engine/peft';
import { expectClose } from './helpers/close';
import { parseSafetensors, tensorToFloat32 } from '../src/engine/safetensors';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../bin/latentlab.js', import.meta.url));

async function cli(...args: string[]): Promise<any> {
  const { stdout } = await run(process.execPath, [BIN, ...args], { timeout: 120_000 });
  return JSON.parse(stdout);
}

describe('latentlab finetune', () => {
  const model = writeTinyModel('llama-gqa');
  const ids = '3,17,5,42,9,0,33,12,3,17,5,42';

  test('trains, writes a PEFT adapter, and --adapter applies it', async () => {
    const out = mkdtempSync(join(tmpdir(), 'latentlab-ft-'));
    const r = await cli('finetune', '--model', model, '--ids', ids, '--lora-rank', '4', '--steps', '8', '--lr', '0.01', '--seed', '3', '--out', out, '--json');
    expect(r.losses).toHaveLength(8);
    expect(r.losses[7]).toBeLessThan(r.losses[0]);
    expect(r.tokens_per_s).toBeGreaterThan(0);
    expect(JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8'))).toMatchObject({ peft_type: 'LORA', r: 4 });

    const adapted = await cli('logits', '--model', model, '--ids', '3,17,5', '--adapter', out, '--json');
    const m = await Model.load(await nodeGpu(), folderFiles(model));
    const lora = await importPeft(m.parts.rt, m.config, folderFiles(out));
    expectClose('logits with adapter', adapted.logits.flat(), (await m.forward([3, 17, 5], { lora })).logits!, 1e-5, 1e-5);
    const plain = await cli('logits', '--model', model, '--ids', '3,17,5', '--json');
    expect(plain.logits.flat()).not.toEqual(adapted.logits.flat());
    lora.destroy();
    m.dispose();
  });

  test('--checkpoint resumes where an earlier run stopped', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'latentlab-ck-'));
    const ckpt = join(dir, 'run.ckpt');
    const common = ['--model', model, '--ids', ids, '--lora-rank', '4', '--lr', '0.01', '--seed', '3', '--checkpoint', ckpt, '--checkpoint-every', '2', '--json'];
    const first = await cli('finetune', ...common, '--steps', '4', '--out', join(dir, 'a'));
    expect(existsSync(ckpt)).toBe(true);
    const second = await cli('finetune', ...common, '--steps', '6', '--out', join(dir, 'b'));
    expect(first.losses).toHaveLength(4);
    expect(second.losses).toHaveLength(2);
    const straight = await cli('finetune', '--model', model, '--ids', ids, '--lora-rank', '4', '--lr', '0.01', '--seed', '3', '--steps', '6', '--out', join(dir, 'c'), '--json');
    expect(second.losses).toEqual(straight.losses.slice(4));
  });

  test('--lora-dropout trains with dropout and records it; --recompute gives the same losses in less memory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'latentlab-dr-'));
    const common = ['--model', model, '--ids', ids, '--lora-rank', '4', '--lr', '0.01', '--seed', '3', '--steps', '3', '--json'];
    const kept = await cli('finetune', ...common, '--lora-dropout', '0.3', '--out', join(dir, 'a'));
    const recomputed = await cli('finetune', ...common, '--lora-dropout', '0.3', '--recompute', '--out', join(dir, 'b'));
    const plain = await cli('finetune', ...common, '--out', join(dir, 'c'));
    expect(JSON.parse(readFileSync(join(dir, 'a', 'adapter_config.json'), 'utf8'))).toMatchObject({ lora_dropout: 0.3 });
    // B starts at zero, so dropout changes nothing until the first update.
    expect(kept.losses[0]).toBe(plain.losses[0]);
    expect(kept.losses[2]).not.toBe(plain.losses[2]);
    expect(recomputed.losses).toEqual(kept.losses);
    expect(recomputed.peak_bytes).toBeLessThan(kept.peak_bytes);
    await expect(cli('finetune', ...common, '--recompute', 'yes', '--out', join(dir, 'd'))).rejects.toThrow(/--recompute takes no value/);
  });

  test('--full trains chosen weights, writes an HF folder that loads with the trained logits, and the delta', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'latentlab-full-'));
    const out = join(dir, 'model');
    const delta = join(dir, 'delta.safetensors');
    const r = await cli('finetune', '--full', '--train-weights', 'layers.1.mlp.*,model.norm.weight', '--model', model, '--ids', ids, '--steps', '6', '--lr', '0.003', '--seed', '2', '--dtype', 'f32', '--out', out, '--delta-out', delta, '--json');
    expect(r.losses).toHaveLength(6);
    expect(r.losses[5]).toBeLessThan(r.losses[0]);
    expect(r.trained).toEqual(['model.layers.1.mlp.gate_proj.weight', 'model.layers.1.mlp.up_proj.weight', 'model.layers.1.mlp.down_proj.weight', 'model.norm.weight']);
    expect(readdirSync(out).sort()).toEqual(['config.json', 'model.safetensors']);
    const read = (f: string) => {
      const bytes = new Uint8Array(readFileSync(f));
      const st = parseSafetensors(bytes);
      return new Map([...st.tensors].map(([n, info]) => [n, tensorToFloat32(bytes, info, st.dataOffset)]));
    };
    const saved = read(join(out, 'model.safetensors'));
    const base = read(join(model, 'model.safetensors'));
    const d = read(delta);
    expect([...d.keys()].sort()).toEqual([...r.trained].sort());
    for (const [name, values] of d) expect(values, name).toEqual(Float32Array.from(saved.get(name)!, (v, i) => v - base.get(name)![i]));
    for (const [name, values] of base) if (!d.has(name)) expect(saved.get(name), name).toEqual(values);
    const before = await cli('logits', '--model', model, '--ids', '3,17,5', '--json');
    const after = await cli('logits', '--model', out, '--ids', '3,17,5', '--json');
    expect(after.logits.flat()).not.toEqual(before.logits.flat());
  });

  test('nonsense values, misplaced flags, unwritable outputs and a diverging run are refused, with nothing written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'latentlab-bad-'));
    const base = ['finetune', '--model', model, '--ids', ids, '--json'];
    const refused = async (extra: string[], message: RegExp) => {
      const out = join(dir, `out-${extra.join('_').replace(/[^a-z0-9]/gi, '')}`);
      const more = [...(extra.includes('--out') ? [] : ['--out', out]), ...(extra.includes('--steps') ? [] : ['--steps', '2'])];
      await expect(cli(...base, ...extra, ...more)).rejects.toThrow(message);
      expect(existsSync(join(out, 'adapter_model.safetensors')) || existsSync(join(out, 'model.safetensors'))).toBe(false);
    };
    await refused(['--batch-size', '0'], /--batch-size must be at least 1, got 0/);
    await refused(['--steps', '2.5'], /--steps must be a whole number, got 2.5/);
    await refused(['--optimizer', 'adam'], /--optimizer must be adamw or sgd, got "adam"/);
    await refused(['--lr', '0'], /learning rate must be a finite number > 0, got 0/);
    await refused(['--full', '--lora-rank', '4'], /--lora-rank is a LoRA setting; --full trains the model's weights directly/);
    await refused(['--delta-out', join(dir, 'd.safetensors')], /--delta-out needs --full/);
    await refused(['--full', '--dtype', 'q8'], /full fine-tuning needs f32 weights.*loaded as q8/);
    await refused(['--out', '/proc/latentlab-x'], /--out \/proc\/latentlab-x cannot be created/);
    await refused(['--lr', '1e12', '--optimizer', 'sgd', '--max-grad-norm', '0', '--targets', 'lm_head,q_proj', '--steps', '30'], /training stopped at step \d+: the loss is/);
    await refused(['--full', '--dtype', 'f32', '--lr', '1e12', '--optimizer', 'sgd', '--max-grad-norm', '0', '--steps', '30'], /training stopped at step \d+: the loss is/);
   }, 600_000);

  test('resuming with flags that differ from the checkpoint says which settings it keeps', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'latentlab-ov-'));
    const ckpt = join(dir, 'run.ckpt');
    const common = ['finetune', '--full', '--train-weights', 'model.norm.weight', '--dtype', 'f32', '--model', model, '--ids', ids, '--seed', '3', '--checkpoint', ckpt, '--json'];
    await cli(...common, '--steps', '2', '--lr', '0.01', '--out', join(dir, 'a'));
    const again = await cli(...common, '--steps', '3', '--lr', '0.05', '--out', join(dir, 'b'));
    expect(again.losses).toHaveLength(1);
    expect(again.overridden).toEqual(['--lr (checkpoint: 0.01, given: 0.05)', '--steps (checkpoint: 2, given: 3)']);
    await expect(cli('finetune', '--model', model, '--ids', ids, '--checkpoint', ckpt, '--steps', '4', '--out', join(dir, 'c'), '--json')).rejects.toThrow(/this checkpoint is from full fine-tuning, not LoRA/);
  });
});
