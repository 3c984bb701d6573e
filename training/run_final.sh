#!/bin/sh
# Reproduces training/runs/final from scratch (about 95 min on 2 CPU threads), stage by stage, as it
# was actually trained (see docs/model-card.md, "Training"): the first three stages were stopped by hand
# after their first 10-minute validation checkpoint(s); --stop-minutes replays that.
set -e
cd "$(dirname "$0")/.."
R=training/runs
python3 training/train.py --out $R/phase1 --contrast wide --minutes 100 --stop-minutes 30
python3 training/train.py --out $R/phase2 --init $R/phase1/checkpoint.pth --contrast realistic --minutes 72 --warmup 20 --stop-minutes 10
python3 training/train.py --out $R/phase3 --init $R/phase2/checkpoint.pth --contrast realistic --lr 6e-3 --warmup 30 --minutes 57 --stop-minutes 10
python3 training/train.py --out $R/final --init $R/phase3/checkpoint.pth --contrast realistic --freeze-bn --lr 3e-3 --warmup 30 --minutes 44
python3 training/evaluate.py --run $R/final
