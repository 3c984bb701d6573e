"""Re-fit the contrast head (head_fc) of a trained checkpoint in closed form: class-balanced multinomial
logistic regression on the encoder's features (global average of layer4) of full 128^3 synthetic
volumes, everything else in the network unchanged.

Why not SGD (train.py --trainable head_fc): the head is one linear layer on 64 features, so once the
features are computed it can be fitted to convergence in seconds. Six minutes of batch-1 SGD steps
(train.py's head stage) left the heads of the 90-minute runs right on few synthetic FLAIR-like or
T2-like volumes, because half of their segmentation training samples were the real T1 (all T1-like).
The class weights here balance the families whatever the generator's mix.

  python3 training/fit_head.py --init training/runs/v2-base/checkpoint.pth --out training/runs/v2-fit

Writes <out>/checkpoint.pth (the same state_dict with head_fc replaced) and <out>/metrics.json (the
family counts, held-out accuracy per family of the fitted and of the original head, timings).
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
from torch.nn import functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'test', 'fixtures', 'transfer'))

from synth import FAMILIES, Generator  # noqa: E402
from train import DATA, REAL_T1, build_model  # noqa: E402


def encoder_features(model, x):
    """The input of head_fc for one volume x [1, 1, D, H, W] (SharedModel's encoder, no decoder)."""
    with torch.no_grad():
        return model.pooled(model.encode(x)[0])[0]


def fit_logistic(z, y, n_classes, l2):
    """Class-balanced multinomial logistic regression on standardised features z [N, F] (LBFGS to
    convergence). Returns (weight [C, F], bias [C])."""
    counts = torch.bincount(y, minlength=n_classes).float()
    if (counts == 0).any():
        raise SystemExit(f'fit_head: no sample of {[FAMILIES[c] for c in range(n_classes) if counts[c] == 0]}; draw more (--samples)')
    w = counts.sum() / (n_classes * counts)
    lin = torch.nn.Linear(z.shape[1], n_classes)
    opt = torch.optim.LBFGS(lin.parameters(), max_iter=1000, tolerance_grad=1e-9, tolerance_change=1e-12, line_search_fn='strong_wolfe')

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(lin(z), y, weight=w) + l2 * lin.weight.pow(2).sum()
        loss.backward()
        return loss
    opt.step(closure)
    return lin.weight.detach(), lin.bias.detach()


def per_family(pred, y):
    return {FAMILIES[c]: [int(((pred == c) & (y == c)).sum()), int((y == c).sum())] for c in range(len(FAMILIES))}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--init', required=True, help='the checkpoint whose head is re-fitted')
    ap.add_argument('--out', required=True)
    ap.add_argument('--samples', type=int, default=240, help='labelled synthetic volumes (a quarter held out)')
    ap.add_argument('--size', type=int, default=128, help='volume size (voxels of 2 mm); 128 = as at inference')
    ap.add_argument('--seed', type=int, default=4242)
    ap.add_argument('--contrast', default='realistic', choices=['wide', 'realistic'])
    ap.add_argument('--flair', default='lowcontrast', choices=['classic', 'wide', 'lowcontrast'])
    ap.add_argument('--families', default='contrast', choices=['order', 'contrast'])
    ap.add_argument('--real-p', type=float, default=0.1, help='share of real Colin27 T1 samples (T1-like)')
    ap.add_argument('--l2', type=float, default=1e-3)
    ap.add_argument('--depth', type=int, default=10, help='as train.py (the architecture of --init)')
    ap.add_argument('--width', type=int, default=8)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--smoke', action='store_true', help='16 volumes of 48^3 (CI)')
    args = ap.parse_args()
    if args.smoke:
        args.samples, args.size = 16, 48
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    if not os.path.isfile(args.init):
        raise SystemExit(f'fit_head: --init {args.init}: no such file; expected a checkpoint written by train.py')
    model = build_model(args.depth, args.width)
    state = torch.load(args.init)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        first = str(e).splitlines()[0]
        raise SystemExit(f'fit_head: --init {args.init} does not fit a depth-{args.depth}, width-{args.width} SharedModel ({first}); pass its --depth/--width')
    model.eval()
    os.makedirs(args.out, exist_ok=True)  # only once the input checkpoint is known to load
    gen = Generator(os.path.join(DATA, 'ch2_genlabels.nii.gz'), seed=args.seed, contrast=args.contrast, real_image=REAL_T1,
                    real_p=args.real_p, flair=args.flair, families=args.families)
    t0 = time.time()
    feats, ys = [], []
    while len(ys) < args.samples:
        x, _, f = gen.sample(args.size)
        if f < 0:  # a draw of no family teaches nothing
            continue
        feats.append(encoder_features(model, x[None]))
        ys.append(f)
        if len(ys) % 20 == 0:
            print(f'{len(ys)}/{args.samples} volumes, {time.time() - t0:.0f}s', flush=True)
    x_all, y_all = torch.stack(feats), torch.tensor(ys)
    n_fit = max(1, int(0.75 * len(ys)))
    mu, sd = x_all[:n_fit].mean(0), x_all[:n_fit].std(0) + 1e-6
    weight, bias = fit_logistic((x_all[:n_fit] - mu) / sd, y_all[:n_fit], len(FAMILIES), args.l2)
    # fold the standardisation into the layer: W (x - mu) / sd + b = (W / sd) x + (b - W mu / sd)
    w_fold, b_fold = weight / sd, bias - (weight / sd) @ mu
    held = slice(n_fit, None)
    with torch.no_grad():
        fitted = per_family((x_all[held] @ w_fold.T + b_fold).argmax(1), y_all[held])
        original = per_family(model.head_fc(x_all[held]).argmax(1), y_all[held])
    state = dict(state)
    state['head_fc.weight'], state['head_fc.bias'] = w_fold.clone(), b_fold.clone()
    tmp = os.path.join(args.out, 'checkpoint.pth.tmp')
    torch.save(state, tmp)
    os.replace(tmp, os.path.join(args.out, 'checkpoint.pth'))
    metrics = {'config': vars(args), 'family_counts': dict(zip(FAMILIES, np.bincount(ys, minlength=len(FAMILIES)).tolist())),
               'fit': n_fit, 'held_out': len(ys) - n_fit, 'held_out_correct_fitted': fitted, 'held_out_correct_original': original,
               'seconds': round(time.time() - t0, 1)}
    with open(os.path.join(args.out, 'metrics.json'), 'w') as fh:
        json.dump(metrics, fh, indent=1)
    print(json.dumps(metrics), flush=True)
    fresh = build_model(args.depth, args.width)
    fresh.load_state_dict(torch.load(os.path.join(args.out, 'checkpoint.pth')), strict=True)


if __name__ == '__main__':
    main()
