#!/usr/bin/env bash
# Trains a toy-world model on a lent GPU machine (PyTorch there, no Node.js) in one call of the device tool, from data
# generated here. Usage:
#   here:   node --import tsx tools/toyworld/make-data.ts --seed 1 --out tools/toyworld/runs/data-gpu --docs 40000
#           tar czf tools/toyworld/runs/data-gpu.tgz -C tools/toyworld/runs data-gpu        # ≈ 25 MB, carried
#           (toy world v2: add --version 2 to make-data; train.py reads the version from stats.json)
#   device: run(command="bash tools/toyworld/device-train.sh 8", carry=["tools/toyworld/runs/data-gpu.tgz"], timeout_s=600)
#   here:   copy <files_at>/toy-m into public/models/toy-m, then measure it with tools/toyworld/card.ts.
# The run's seven files come back under $OUT (the exported model and the log); nothing else is kept.
set -euo pipefail
MINUTES=${1:-8}
SIZE=${SIZE:-m}
DEVICE=${DEVICE:-cuda}
PYTHON=${PYTHON:-python3}  # here: /usr/bin/python3 (Debian torch)
: "${OUT:?OUT must name the folder that comes back}"
tmp=$(mktemp -d)
tar xzf tools/toyworld/runs/data-gpu.tgz -C "$tmp"
# Batch 64 and a wall-time schedule: the GPU buys tens of thousands of steps, which the binding plateau needs.
PYTHONUNBUFFERED=1 "$PYTHON" tools/toyworld/train.py --size "$SIZE" --data "$tmp/data-gpu" --run "$tmp/run" --steps 200000 \
  --minutes "$MINUTES" --device "$DEVICE" --batch 64 --lr 2e-3 --warmup 500 --eval-every 1000 --export "$OUT/toy-$SIZE" 2>&1 | tee "$OUT/train.log"
