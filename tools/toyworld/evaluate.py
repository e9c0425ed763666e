"""Trainer-side progress checks on the held-out items in eval.json (same rules as src/toyworld/eval.ts)."""
import torch


@torch.no_grad()
def _last_logits(model, seqs, pad):
    t = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), t), pad, dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s)
    logits = model(ids.to(model.inv_freq.device))  # right padding: positions before each length are unaffected by the causal mask
    return logits[torch.arange(len(seqs)), torch.tensor([len(s) - 1 for s in seqs])].cpu()


@torch.no_grad()
def _greedy(model, seqs, max_new, stop, pad):
    seqs = [list(s) for s in seqs]
    outs = [[] for _ in seqs]
    done = [False] * len(seqs)
    for _ in range(max_new):
        live = [i for i, d in enumerate(done) if not d]
        if not live:
            break
        nxt = _last_logits(model, [seqs[i] + outs[i] for i in live], pad).argmax(-1).tolist()
        for i, tkn in zip(live, nxt):
            outs[i].append(tkn)
            if tkn in stop:
                done[i] = True
    return outs


def _check(check, gen):
    stop = set(check["stop"])
    cut = next((i for i, t in enumerate(gen) if t in stop), len(gen))
    gen = gen[:cut]
    if check.get("firstIs") is not None and (not gen or gen[0] != check["firstIs"]):
        return False
    if check.get("firstIsNot") is not None and (not gen or gen[0] == check["firstIsNot"]):
        return False
    if check.get("equals") is not None and gen != check["equals"]:
        return False
    if check.get("containsAny") and not any(t in check["containsAny"] for t in gen):
        return False
    aa = check.get("answerAfter")
    if aa:
        after = aa["after"]
        at = next((i for i in range(len(gen)) if gen[i : i + len(after)] == after), -1)
        if at < 0 or at + len(after) >= len(gen) or gen[at + len(after)] != aa["answer"]:
            return False
    return True


@torch.no_grad()
def evaluate(model, evalsets, bos, pad, n=None, families=None, chunk=64):
    model.eval()
    acc = {}
    for fam, items in evalsets.items():
        if families is not None and fam not in families:
            continue
        items = items[:n] if n else items
        correct = 0
        for c in range(0, len(items), chunk):
            part = items[c : c + chunk]
            if part[0]["check"]["type"] == "next":
                pred = _last_logits(model, [it["ids"] for it in part], pad).argmax(-1).tolist()
                correct += sum(p == it["check"]["answer"] for p, it in zip(pred, part))
            else:
                # items of one family share stop words but not always maxNew (cipher: answer length + 2)
                max_new = max(it["check"]["maxNew"] for it in part)
                outs = _greedy(model, [it["ids"] for it in part], max_new, set(part[0]["check"]["stop"]), pad)
                correct += sum(_check(it["check"], o[: it["check"]["maxNew"]]) for o, it in zip(outs, part))
        acc[fam] = round(correct / len(items), 4)
    model.train()
    return acc
