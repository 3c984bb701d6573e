#!/bin/sh
# Reproduces training/runs/final from scratch (about 4 h 40 min on 2 CPU threads), stage by stage, as it
# was actually trained (see docs/model-card.md, "Training"): stages stopped by hand after a validation
# checkpoint are replayed with --stop-minutes (the schedule still spans --minutes).
#
# SMOKE=1 runs every stage in smoke mode (a few steps on tiny crops) into $RUNS (default training/runs):
# a quick check that the chain of stages, flags and checkpoints still holds together (test/training).
set -e
cd "$(dirname "$0")/.."
R=${RUNS:-training/runs}
S=${SMOKE:+--smoke}
PY=${PYTHON:-python3}  # the interpreter with torch and nibabel (Debian: /usr/bin/python3)
$PY training/train.py $S --out $R/phase1 --contrast wide --minutes 100 --stop-minutes 30 --neck extrude --cut-target keep
$PY training/train.py $S --out $R/phase2 --init $R/phase1/checkpoint.pth --contrast realistic --minutes 72 --warmup 20 --stop-minutes 10 --neck extrude --cut-target keep
$PY training/train.py $S --out $R/phase3 --init $R/phase2/checkpoint.pth --contrast realistic --lr 6e-3 --warmup 30 --minutes 57 --stop-minutes 10 --neck extrude --cut-target keep
$PY training/train.py $S --out $R/phase4 --init $R/phase3/checkpoint.pth --contrast realistic --freeze-bn --lr 3e-3 --warmup 30 --minutes 44 --neck extrude --cut-target keep
$PY training/train.py $S --out $R/phase5 --init $R/phase4/checkpoint.pth --contrast realistic --freeze-bn --lr 3e-3 --warmup 30 --real-p 0.5 --minutes 85 --stop-minutes 20 --neck extrude --cut-target keep
$PY training/train.py $S --out $R/phase6 --init $R/phase5/checkpoint.pth --contrast realistic --freeze-bn --lr 3e-3 --warmup 30 --real-p 0.5 --minutes 90 --stop-minutes 20 --cut-target keep
$PY training/train.py $S --out $R/phase7 --init $R/phase6/checkpoint.pth --contrast realistic --freeze-bn --lr 3e-3 --warmup 30 --real-p 0.5 --minutes 70
# the contrast head alone (all else fixed), on full 128^3 synthetic volumes as at inference, families balanced
$PY training/train.py $S --out $R/final --init $R/phase7/checkpoint.pth --trainable head_fc --real-p 0 --flair wide --crop 128 --crop-p 1 --lr 5e-3 --warmup 10 --minutes 6
$PY training/evaluate.py --run $R/final
