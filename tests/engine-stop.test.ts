// Generation stops at the end of a turn by default: the toy world's <|end|>, a Hub chat template's eos ids
// (generation_config.json), and the config's eos ids.
import { describe, expect, test } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeGpu } from '../src/gpu/node';
import { Model } from '../src/engine/model';
import { folderFiles } from '../src/engine/files-node';
import { defaultStopIds, Tokenizer } from '../src/engine/tokenizer';
import { writeToyVocabModel } from './fixtures/toy-vocab-model';
import { writeHubChatModel } from './fixtures/hub-chat-models';

const root = mkdtempSync(join(tmpdir(), 'latentlab-stop-'));

describe('default stop ids', () => {
  test('the toy world stops at <|end|> as well as <eos>', async () => {
    const dir = writeToyVocabModel(root);
    const tok = (await Tokenizer.load(folderFiles(dir)))!;
    const model = await Model.load(await nodeGpu(), folderFiles(dir));
    const [end] = tok.encode('<|end|>', { addSpecialTokens: false });
    const [eos] = tok.encode('<eos>', { addSpecialTokens: false });
    const stop = defaultStopIds(model.config, tok);
    expect(stop).toContain(end);
    expect(stop).toContain(eos);
    // Push <|end|> to the top at every step: a default-stopped chat ends right there, one without stops runs on.
    const push = Array.from({ length: model.config.vocab }, (_, i) => (i === end ? 100 : 0));
    const hooks = [{ name: 'logits', op: 'add' as const, value: push }];
    const prompt = tok.encode('<|user|> hello <|end|> <|assistant|>', { addSpecialTokens: false });
    expect(await model.generate(prompt, { maxNewTokens: 5, stop, hooks })).toEqual([end]);
    expect(await model.generate(prompt, { maxNewTokens: 5, stop: [], hooks })).toEqual([end, end, end, end, end]);
    // The first token comes from the prompt's last row even when a logits hook keeps every row.
    const lastOnly = [{ ...hooks[0], positions: [prompt.length - 1] }];
    expect(await model.generate(prompt, { maxNewTokens: 1, stop: [], hooks: lastOnly })).toEqual([end]);
    model.dispose();
  });

  test.each([
    ['qwen2.5', ['<|im_end|>', '<|endoftext|>']],
    ['llama3.2', ['<|eot_id|>', '<|end_of_text|>', '<|eom_id|>']],
  ] as const)('%s stops at its template\'s end-of-turn ids', async (family, names) => {
    const tok = (await Tokenizer.load(folderFiles(writeHubChatModel(family, root))))!;
    for (const name of names) expect(tok.endOfTurnIds).toContain(tok.encode(name, { addSpecialTokens: false })[0]);
  });
});
