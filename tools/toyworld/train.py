"""Trains a toy-world Llama from the data written by make-data.ts and exports it in HF layout.

  /usr/bin/python3 tools/toyworld/train.py --size s --data tools/toyworld/runs/data --run tools/toyworld/runs/toy-s \
      --steps 3000 [--resume] [--export public/models/toy-s]
"""
import argparse, json, os, sys, time
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import Llama, n_params  # noqa: E402
from export import export_model  # noqa: E402
from evaluate import evaluate  # noqa: E402

SIZES = {
    "s": dict(hidden_size=128, num_hidden_layers=4, num_attention_heads=8, intermediate_size=384),
    "m": dict(hidden_size=256, num_hidden_layers=4, num_attention_heads=8, intermediate_size=640),
}
STREAMS = ["binding-1", "binding-2", "binding-3", "binding-4", "implications", "persona", "arithmetic", "sentiment", "judgement"]
OTHERS = {"implications": 0.16, "persona": 0.1, "arithmetic": 0.08, "sentiment": 0.03, "judgement": 0.06}
# Past 35 % of the budget persona and sentiment are learned (≥ 0.99 held-out), while implications (memorising 100 people)
# still needs exposure: shift rows to it.
OTHERS_LATE = {"implications": 0.26, "persona": 0.05, "arithmetic": 0.07, "sentiment": 0.02, "judgement": 0.06}
BINDING_SHARE = 1.0 - sum(OTHERS.values())

# Toy world v2 (make-data.ts --version 2): the measured binding recipe (../shared/notes/toy-binding.md). Phases advance
# on measured held-out accuracy, with a step-count fallback (steps, not wall time: a run starved of CPU on a shared
# machine still gets its binding-heavy steps), since when the recall circuit forms is what varies:
#   0  binding-heavy (80 %): induction data and dense recall with the answer 0 and 1 tokens after the queried name;
#   1  once recall-gap1 and induction are ≥ 0.9: the natural questions grow, every other family at its full rate;
#   2  once binding is ≥ 0.9: more implications (memorising 100 people's facts needs the most late exposure).
# Weights are relative (normalised when drawn).
V2_OTHERS = {"implications": 0.13, "persona": 0.025, "arithmetic": 0.05, "sentiment": 0.015, "judgement": 0.03, "refusal": 0.035,
             "style": 0.045, "topic": 0.035, "cipher": 0.06, "twohop": 0.03}
V2_BINDING = [
    {"induction": 0.2, "recall-gap0": 0.25, "recall-gap1": 0.25, "recall-question": 0.1},
    {"induction": 0.05, "recall-gap0": 0.08, "recall-gap1": 0.1, "recall-question": 0.3, "binding-2": 0.03, "binding-3": 0.03, "binding-4": 0.03},
    {"induction": 0.03, "recall-gap0": 0.05, "recall-gap1": 0.06, "recall-question": 0.2, "binding-2": 0.03, "binding-3": 0.04, "binding-4": 0.04},
]
V2_ADVANCE = [  # (held-out sets that must reach 0.9, step at which the phase advances regardless)
    (["recall-gap1", "induction"], 1500),
    (["binding"], 3000),
]
# Families followed every --eval-every steps (the phase-change log); the final evaluation covers every set.
V2_WATCH = ["induction", "recall-gap0", "recall-gap1", "binding", "binding-held-out", "inject-prepend", "implications",
            "implications-compose", "judgement", "sentiment", "refusal", "refusal-other", "style", "topic", "cipher", "twohop"]


def mixture(progress):
    """Stream weights at a point of training: binding at a high rate, with a 1 → 2 → 3–4 entity curriculum."""
    if progress < 0.08:
        b = {"binding-1": 0.6, "binding-2": 0.4, "binding-3": 0.0, "binding-4": 0.0}
    elif progress < 0.25:
        b = {"binding-1": 0.15, "binding-2": 0.5, "binding-3": 0.25, "binding-4": 0.1}
    else:
        b = {"binding-1": 0.05, "binding-2": 0.35, "binding-3": 0.35, "binding-4": 0.25}
    others = OTHERS if progress < 0.35 else OTHERS_LATE
    share = 1.0 - sum(others.values())
    w = {k: v * share for k, v in b.items()}
    w.update(others)
    return w


def mixture_v2(phase):
    b, others = V2_BINDING[phase], dict(V2_OTHERS)
    scale = 0.2 / sum(others.values()) if phase == 0 else 1.0
    if phase == 2:
        others["implications"] = 0.2
    return {**b, **{k: v * scale for k, v in others.items()}}


def next_phase(phase, acc, step):
    if phase >= len(V2_ADVANCE):
        return phase
    sets, by = V2_ADVANCE[phase]
    return phase + 1 if step >= by or all(acc.get(k, 0) >= 0.9 for k in sets) else phase


def load_data(d, seq_len, streams):
    data = {}
    for s in streams:
        ids = np.fromfile(os.path.join(d, f"{s}.ids.bin"), dtype=np.uint16).reshape(-1, seq_len)
        w = np.fromfile(os.path.join(d, f"{s}.w.bin"), dtype=np.uint8).reshape(-1, seq_len)
        data[s] = (torch.from_numpy(ids.astype(np.int64)), torch.from_numpy(w.astype(np.int64)))
    return data


def batch(data, weights, bsz, gen, bos, seen=None, pad=0):
    names = list(weights)
    p = torch.tensor([weights[n] for n in names])
    pick = torch.multinomial(p, bsz, replacement=True, generator=gen)
    ids, ws = [], []
    for i in pick.tolist():
        a, w = data[names[i]]
        r = torch.randint(len(a), (1,), generator=gen).item()
        ids.append(a[r])
        ws.append(w[r])
        if seen is not None:  # non-pad tokens drawn per stream, for the model card
            seen[names[i]] = seen.get(names[i], 0) + int((a[r] != pad).sum())
    ids, ws = torch.stack(ids), torch.stack(ws)
    seg = torch.cumsum(ids == bos, dim=1)  # packed documents: attend within a document only
    idx = torch.arange(ids.shape[1]).expand_as(ids)
    start = torch.where(ids == bos, idx, torch.zeros_like(idx)).cummax(dim=1).values
    return ids, ws, seg, idx - start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", choices=SIZES, required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--run", required=True)
    ap.add_argument("--steps", type=int, required=True, help="step budget (upper bound when --minutes is given)")
    ap.add_argument("--minutes", type=float, default=None,
                    help="wall-time budget: schedule and curriculum follow elapsed time, so a slow shared CPU still ends annealed")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--context-weight", type=float, default=0.1, help="loss weight of non-answer tokens")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu", help="cpu, or cuda where a GPU is available (same recipe, many more steps)")
    ap.add_argument("--ckpt-minutes", type=float, default=3.0)
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--export", default=None, help="export the final model to this folder")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--export-only", action="store_true", help="load the checkpoint, evaluate it fully and export it")
    ap.add_argument("--reset-optimizer", action="store_true", help="on --resume, start Adam's moments afresh (a weights-only checkpoint)")
    ap.add_argument("--eval-n", type=int, default=100, help="items per family in the periodic evaluation")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(args.run, exist_ok=True)
    stats = json.load(open(os.path.join(args.data, "stats.json")))
    tok = json.load(open(os.path.join(args.data, "tokenizer.json")))["model"]["vocab"]
    bos, pad = tok["<bos>"], tok["<pad>"]
    v2 = stats.get("version", 1) == 2
    streams = list(stats["streams"]) if v2 else STREAMS
    # v2 evaluation prompts (4–5 step arithmetic, style pairs) run past the 128-token training rows; RoPE extrapolates a little.
    cfg = dict(SIZES[args.size], vocab_size=stats["vocabSize"], num_key_value_heads=SIZES[args.size]["num_attention_heads"],
               rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=True, max_position_embeddings=256 if v2 else stats["len"])
    torch.manual_seed(args.seed)
    model = Llama(cfg).to(args.device)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.98), weight_decay=0.05)
    gen = torch.Generator().manual_seed(args.seed + 1)
    step, elapsed, history, seen, phase = 0, 0.0, [], {}, 0
    ckpt_path = os.path.join(args.run, "ckpt.pt")
    if (args.resume or args.export_only) and os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path, map_location=args.device)
        model.load_state_dict(ck["model"])
        if not args.reset_optimizer:
            opt.load_state_dict(ck["opt"])
        gen.set_state(ck["gen"])
        step, elapsed, history, seen, phase = ck["step"], ck["elapsed"], ck["history"], ck.get("seen", {}), ck.get("phase", 0)
        print(f"resumed at step {step}", flush=True)
    print(f"params {n_params(model)} cfg {cfg}", flush=True)
    data = None if args.export_only else load_data(args.data, stats["len"], streams)  # exporting needs no training rows
    evalsets = json.load(open(os.path.join(args.data, "eval.json")))

    def save():
        torch.save(dict(model=model.state_dict(), opt=opt.state_dict(), gen=gen.get_state(), step=step, elapsed=elapsed,
                        history=history, seen=seen, phase=phase, cfg=cfg, args=vars(args)), ckpt_path + ".tmp")
        os.replace(ckpt_path + ".tmp", ckpt_path)

    last_ckpt, t0, ema = time.time(), time.time() - elapsed, None
    if args.export_only and args.eval_n == 0:  # export the checkpoint as is (e.g. beside a run still training)
        args.steps = step
    elif args.export_only:
        history.append(dict(step=step, minutes=round(elapsed / 60, 2), loss=history[-1]["loss"] if history else None,
                            **evaluate(model, evalsets, bos, pad)))
        print("eval", json.dumps(history[-1]), flush=True)
        args.steps = step
    def mix(progress):
        return mixture_v2(phase) if v2 else mixture(progress)

    def progress_now():
        p = step / args.steps
        return max(p, elapsed / (args.minutes * 60)) if args.minutes else p

    while step < args.steps and progress_now() < 1.0:
        progress = progress_now()
        lr = args.lr * min(1.0, (step + 1) / args.warmup) * (0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * progress)))
        for g in opt.param_groups:
            g["lr"] = lr
        ids, ws, seg, pos = (x.to(args.device) for x in batch(data, mix(progress), args.batch, gen, bos, seen, pad))
        logits = model(ids[:, :-1], pos[:, :-1], seg[:, :-1])
        tgt_w = ws[:, 1:].float()
        weight = torch.where(tgt_w == 2, torch.ones_like(tgt_w), tgt_w * args.context_weight)  # 1 → context weight, 0 → pad
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1), reduction="none")
        loss = (ce * weight.reshape(-1)).sum() / weight.sum()
        ans = (ce * (tgt_w.reshape(-1) == 2)).sum() / (tgt_w == 2).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        elapsed = time.time() - t0
        ema = ans.item() if ema is None else 0.98 * ema + 0.02 * ans.item()
        if step % 50 == 0:
            print(f"step {step} loss {loss.item():.4f} answer_ce {ema:.4f} lr {lr:.2e} {elapsed/60:.1f} min", flush=True)
        final = step == args.steps or progress_now() >= 1.0
        if step % args.eval_every == 0 or final:
            watch = V2_WATCH if v2 else ["binding", "implications", "persona", "judgement"]
            acc = evaluate(model, evalsets, bos, pad, n=None if final else args.eval_n, families=None if final else watch)
            history.append(dict(step=step, minutes=round(elapsed / 60, 2), loss=round(loss.item(), 4), answer_ce=round(ema, 4), **acc))
            if v2:
                history[-1]["phase"] = phase
                new = next_phase(phase, acc, step)
                if new != phase:
                    print(f"phase {phase} -> {new} at step {step}", flush=True)
                    phase = new
            print("eval", json.dumps(history[-1]), flush=True)
        if time.time() - last_ckpt > args.ckpt_minutes * 60 or final:
            save()
            last_ckpt = time.time()
    if args.export:
        info = dict(steps=step, minutes=round(elapsed / 60, 1), batch=args.batch, seq_len=stats["len"], lr=args.lr,
                    context_weight=args.context_weight, binding_share=None if v2 else round(BINDING_SHARE, 3),
                    mixture_schedule=({f"phase {i}": {k: round(v, 4) for k, v in mixture_v2(i).items()} for i in range(3)} if v2 else
                                      {str(p): {k: round(v, 4) for k, v in mixture(p).items()} for p in (0.0, 0.1, 0.3, 0.5)}),
                    phase_advance=V2_ADVANCE if v2 else None, minutes_budget=args.minutes, history=history, stats=stats, params=n_params(model),
                    tokens_seen={k: int(v) for k, v in seen.items()})
        export_model(model, cfg, args.export, args.data, info)
        print(f"exported to {args.export}", flush=True)


if __name__ == "__main__":
    main()
