"""Prints a run's measured curve (step → held-out accuracy per set) as a Markdown table, from the `eval` lines of its log:

  /usr/bin/python3 tools/toyworld/curve.py tools/toyworld/runs/toy-s-v2/train.log [--sets binding,recall-gap0,...] [--every 200]
"""
import argparse, json

DEFAULT = ["induction", "recall-gap0", "recall-gap1", "binding", "binding-held-out", "inject-prepend", "implications",
           "implications-compose", "judgement", "sentiment", "refusal", "refusal-other", "style", "topic", "cipher", "twohop"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("log")
    ap.add_argument("--sets", default=",".join(DEFAULT))
    ap.add_argument("--every", type=int, default=1, help="keep rows whose step is a multiple of this (and the last)")
    a = ap.parse_args()
    rows = [json.loads(l[5:]) for l in open(a.log) if l.startswith("eval ")]
    if not rows:
        raise SystemExit(f"no eval lines in {a.log}")
    sets = [s for s in a.sets.split(",") if any(s in r for r in rows)]
    rows = [r for i, r in enumerate(rows) if r["step"] % a.every == 0 or i == len(rows) - 1]
    print("| step | min | phase | " + " | ".join(sets) + " |")
    print("|---" * (len(sets) + 3) + "|")
    for r in rows:
        cells = [f"{r[s]:.2f}" if s in r else "" for s in sets]
        print(f"| {r['step']} | {r['minutes']:.0f} | {r.get('phase', '')} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
