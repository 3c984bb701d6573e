"""Re-fit the contrast head (head_fc) of a trained checkpoint in closed form: class-balanced multinomial
logistic regression on full 128^3 synthetic volumes, everything else in the network unchanged. The
written head is a 'tissue-means' head (reference.SharedModel): head_fc reads the global average of
layer4 (64 numbers) and the tissue means, the mean input intensity under each segmentation class
(background, CSF, GM, WM; reference.tissue_means).

--head picks what the fit may use; the other inputs get zero weights:
  tissue    (default) the CSF, GM and WM means. A contrast family is defined by the order and spacing
            of exactly these intensities (synth.family_of), and they survive the step from synthetic to
            real scans: on runs/budget's network the encoder's 64 pooled features put the real FLAIR
            among synthetic T1s (training/README, "Where the real scans sit"), the three means did not.
  features  the 64 pooled features alone (what runs/final and the earlier fits used)
  both      features and the three means
The background's mean is never used: whether a scan is skull-stripped says nothing about its contrast.
metrics.json reports the held-out accuracy of all three on the same volumes.

Why not SGD (train.py --trainable head_fc): the head is one linear layer, so once its inputs are
computed it can be fitted to convergence in seconds, with the families balanced whatever the
generator's mix (half of a segmentation run's samples are the real T1, all T1-like).

  python3 training/fit_head.py --init training/runs/cpu-base/checkpoint.pth --out training/runs/cpu

Writes <out>/checkpoint.pth (the same state_dict with head_fc replaced) and <out>/metrics.json (the
family counts, held-out accuracy per family of each input set and of the original head, timings).
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

from reference import UNetDecoder  # noqa: E402
from synth import FAMILIES, Generator  # noqa: E402
from train import DATA, REAL_T1, SEG_NAMES, build_model, head_cue_of  # noqa: E402

HEADS = ('tissue', 'features', 'both')


def head_inputs(model, x):
    """[pooled layer4 (F), tissue means (background, CSF, GM, WM)] for one volume x [1, 1, D, H, W]
    (model: a 'tissue-means' SharedModel)."""
    with torch.no_grad():
        deep, skips = model.encode(x)
        return model.head_inputs(x, deep, UNetDecoder.run(model, x, skips, deep))[0]


def columns(head, n_features):
    """The head_fc input columns a --head choice may use (the background's mean never)."""
    tissue = [n_features + 1, n_features + 2, n_features + 3]
    return {'tissue': tissue, 'features': list(range(n_features)), 'both': list(range(n_features)) + tissue}[head]


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
    ap.add_argument('--head', default='tissue', choices=HEADS, help='what the head may read (see above)')
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
    state = torch.load(args.init)
    if head_cue_of(state) is None:  # a plain head is the cue head with zero weight on the tissue means
        w = state['head_fc.weight']
        state['head_fc.weight'] = torch.cat([w, w.new_zeros(w.shape[0], len(SEG_NAMES))], 1)
    model = build_model(args.depth, args.width, head_cue='tissue-means')
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
        feats.append(head_inputs(model, x[None]))
        ys.append(f)
        if len(ys) % 20 == 0:
            print(f'{len(ys)}/{args.samples} volumes, {time.time() - t0:.0f}s', flush=True)
    x_all, y_all = torch.stack(feats), torch.tensor(ys)
    n_features = x_all.shape[1] - model.seg_head.out_channels
    n_fit = max(1, int(0.75 * len(ys)))
    held = slice(n_fit, None)

    def fit(head):
        """head_fc (weight [C, all inputs], bias) fitted on the columns of `head`, the others zero."""
        cols = columns(head, n_features)
        z = x_all[:, cols]
        mu, sd = z[:n_fit].mean(0), z[:n_fit].std(0) + 1e-6
        weight, bias = fit_logistic((z[:n_fit] - mu) / sd, y_all[:n_fit], len(FAMILIES), args.l2)
        # fold the standardisation into the layer: W (x - mu) / sd + b = (W / sd) x + (b - W mu / sd)
        w_full = torch.zeros(len(FAMILIES), x_all.shape[1])
        w_full[:, cols] = weight / sd
        return w_full, bias - (weight / sd) @ mu

    fits = {h: fit(h) for h in HEADS}
    with torch.no_grad():
        held_out = {h: per_family((x_all[held] @ w.T + b).argmax(1), y_all[held]) for h, (w, b) in fits.items()}
        original = per_family(model.head_fc(x_all[held]).argmax(1), y_all[held])
    w_fold, b_fold = fits[args.head]
    fitted = held_out[args.head]
    state = dict(state)
    state['head_fc.weight'], state['head_fc.bias'] = w_fold.clone(), b_fold.clone()
    tmp = os.path.join(args.out, 'checkpoint.pth.tmp')
    torch.save(state, tmp)
    os.replace(tmp, os.path.join(args.out, 'checkpoint.pth'))
    metrics = {'config': {**vars(args), 'head_cue': 'tissue-means'}, 'family_counts': dict(zip(FAMILIES, np.bincount(ys, minlength=len(FAMILIES)).tolist())),
               'fit': n_fit, 'held_out': len(ys) - n_fit, 'held_out_correct_fitted': fitted, 'held_out_correct_by_head': held_out,
               'held_out_correct_original': original,
               'seconds': round(time.time() - t0, 1)}
    with open(os.path.join(args.out, 'metrics.json'), 'w') as fh:
        json.dump(metrics, fh, indent=1)
    print(json.dumps(metrics), flush=True)
    fresh = build_model(args.depth, args.width, head_cue='tissue-means')
    fresh.load_state_dict(torch.load(os.path.join(args.out, 'checkpoint.pth')), strict=True)


if __name__ == '__main__':
    main()
