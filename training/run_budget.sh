#!/bin/sh
# A from-scratch training within the project's ~90-minute CPU budget (89 minutes on 2 CPU threads,
# measured in the fourth session), then its evaluation on the real scans in ../shared/data. It is NOT
# the shipped model (training/run_final.sh is): evaluated once at the end, it missed the brain-mask and
# FLAIR targets (runs/v2/evaluation.json; docs/model-card.md, "Within the 90-minute budget").
#   1. v2-base: the whole network, 82 minutes (synthetic images from the Colin27 labels, the real
#      Colin27 T1 half of the time, contrast families by the 'contrast' rule);
#   2. v2: the contrast head alone, 6 minutes, on full 128^3 synthetic volumes as at inference.
# SMOKE=1 runs both stages in smoke mode (a few steps on tiny crops) into $RUNS (default training/runs).
set -e
cd "$(dirname "$0")/.."
R=${RUNS:-training/runs}
S=${SMOKE:+--smoke}
PY=${PYTHON:-python3}  # the interpreter with torch and nibabel (Debian: /usr/bin/python3)
$PY training/train.py $S --out $R/v2-base --contrast realistic --flair lowcontrast --families contrast --real-p 0.5 --lr 4e-3 --warmup 50 --minutes 82
$PY training/train.py $S --out $R/v2 --init $R/v2-base/checkpoint.pth --trainable head_fc --real-p 0 --flair lowcontrast --families contrast --crop 128 --crop-p 1 --lr 5e-3 --warmup 10 --minutes 6
$PY training/evaluate.py --run $R/v2
