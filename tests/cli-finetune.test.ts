// `latentlab finetune` writes a PEFT adapter; `--adapter` applies it; `--checkpoint` resumes a run;
// `--lora-dropout` and `--recompute` reach the trainer.
import { describe, expect, test } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
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
});
