"""Train SegTransfer's default model: an encoder-sharing ResUNet (test/fixtures/transfer/reference.py
SharedModel, deep-stem 3D ResNet-10 encoder, UNet decoder -> 'seg_logits', GAP + Linear ->
'class_logits') on SynthSeg-style synthetic images generated from Colin27 (training/synth.py).

  python3 training/train.py --out training/runs/final            # the full run (time-budgeted)
  python3 training/train.py --smoke --out /tmp/segtransfer-smoke  # CI: a few steps on tiny crops, < 60 s

The run stops after --minutes of training (the learning rate follows a cosine over that budget), then
re-estimates the BatchNorm statistics on synthetic full-size volumes, validates and saves:
  checkpoint.pth  state_dict only (torch.save zip format), names exactly as reference.SharedModel
  metrics.json    configuration, timing, final validation
  curves.json     training losses and validation Dice over time; curves.png (a plot of both)
A checkpoint (+ metrics/curves) is also written at every validation, so a cut-off run still leaves a model.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, 'test', 'fixtures', 'transfer'))

import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from reference import ResNet, SharedModel  # noqa: E402  (the one architecture; not copied)
import geometry  # noqa: E402
from synth import FAMILIES, Generator  # noqa: E402
from pngplot import plot  # noqa: E402

SEG_NAMES = ['background', 'CSF', 'grey matter', 'white matter']
DATA = os.path.join(HERE, 'data')


def build_model(depth, width, head_cue=None):
    """head_cue 'tissue-means': head_fc also reads the tissue means (reference.tissue_means); fit_head.py
    writes such heads. train.py trains the plain head (the contrast head is re-fitted afterwards)."""
    resnet = ResNet(depth, in_channels=1, num_classes=len(FAMILIES), base_width=width, deep_stem=True)
    return SharedModel(resnet, len(SEG_NAMES), width, head_cue=head_cue)


def head_cue_of(state):
    """The head_cue of a state_dict written by train.py or fit_head.py, from head_fc's input width."""
    n_in = state['head_fc.weight'].shape[1]
    # layer4's output width: its last block's last conv (conv2 in basic blocks, conv3 in bottlenecks)
    last = max((k for k in state if k.startswith('layer4.') and k.endswith('.weight') and '.conv' in k),
               key=lambda k: (int(k.split('.')[1]), k))
    return 'tissue-means' if n_in == state[last].shape[0] + len(SEG_NAMES) else None


def dice_loss(logits, target):
    p = logits.softmax(1)
    oh = F.one_hot(target, p.shape[1]).permute(0, 4, 1, 2, 3).float()
    inter = (p * oh).sum((0, 2, 3, 4))
    den = p.sum((0, 2, 3, 4)) + oh.sum((0, 2, 3, 4))
    return 1 - ((2 * inter + 1) / (den + 1)).mean()


def dice_per_class(pred, target, k=4):
    out = []
    for c in range(k):
        a, b = pred == c, target == c
        s = int(a.sum()) + int(b.sum())
        out.append(2 * int((a & b).sum()) / s if s else float('nan'))
    return out


REAL_T1 = '/usr/share/mricron/templates/ch2.nii.gz'  # the scan the labels come from (mricron-data, BSD-3)


class TrainSet(torch.utils.data.IterableDataset):
    def __init__(self, path, seed, size, generator_options):
        """size: (crop sizes, their probabilities); generator_options: synth.Generator's keyword arguments."""
        self.path, self.seed, self.size, self.options = path, seed, size, generator_options

    def __iter__(self):
        torch.set_num_threads(1)
        info = torch.utils.data.get_worker_info()
        gen = Generator(self.path, seed=self.seed + (info.id if info else 0), **self.options)
        sizes, probs = self.size
        while True:
            yield gen.sample(int(gen.rng.choice(sizes, p=probs)))


def make_val(path, n, size, seed=12345, contrast='realistic', flair='classic', families='order'):
    gen = Generator(path, seed=seed, contrast=contrast, flair=flair, families=families)
    vals = []
    for i in range(n):
        # fixed recipes: cycle until each family appears (deterministic: the generator is seeded)
        while True:
            x, y, f = gen.sample(size)
            if f == i % len(FAMILIES) or (i >= len(FAMILIES) and f >= 0):
                break
        vals.append((x, y, f))
    return vals


def real_ch2(size):
    """The real Colin27 T1 with skull, preprocessed as the app will, with its derived labels (monitoring)."""
    img = nib.load('/usr/share/mricron/templates/ch2.nii.gz')
    x, aff = geometry.preprocess(img)
    tissue = nib.load(os.path.join(DATA, 'ch2_tissue.nii.gz'))
    lab = geometry.resample(np.asanyarray(tissue.dataobj).astype(np.float32), tissue.affine, aff, (geometry.SIZE,) * 3, 'nearest', 0)
    x, lab = x, torch.from_numpy(lab.astype(np.int64))
    if size != geometry.SIZE:  # smoke: centre crop
        o = (geometry.SIZE - size) // 2
        x, lab = x[..., o:o + size, o:o + size, o:o + size], lab[o:o + size, o:o + size, o:o + size]
    return x, lab


def set_train(model, freeze_bn=False):
    """Training mode; with freeze_bn the BatchNorm layers stay in eval mode (running statistics fixed,
    used in the forward pass exactly as at inference; their affine weights still learn)."""
    model.train()
    if freeze_bn:
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm3d):
                m.eval()


@torch.no_grad()
def validate(model, vals, ch2, freeze_bn=False):
    model.eval()
    dev = next(model.parameters()).device
    res = {'synthetic': [], 'synthetic_class_correct': 0, 'synthetic_class_n': 0}
    for x, y, f in vals:
        seg, cls = model(x[None].to(dev))
        res['synthetic'].append(dice_per_class(seg.argmax(1)[0].cpu(), y))
        if f >= 0:
            res['synthetic_class_n'] += 1
            res['synthetic_class_correct'] += int(int(cls.argmax(1)) == f)
    d = np.array(res['synthetic'])
    res['synthetic_dice_mean'] = dict(zip(SEG_NAMES, np.nanmean(d, 0).round(4).tolist()))
    seg, cls = model(ch2[0].to(dev))
    pred, cls = seg.argmax(1)[0].cpu(), cls.cpu()
    res['ch2_dice'] = dict(zip(SEG_NAMES, np.round(dice_per_class(pred, ch2[1]), 4).tolist()))
    res['ch2_brain_dice'] = round(dice_per_class((pred > 0).long(), (ch2[1] > 0).long(), 2)[1], 4)
    res['ch2_class_probs'] = dict(zip(FAMILIES, cls.softmax(1)[0].numpy().round(4).tolist()))
    del res['synthetic']
    set_train(model, freeze_bn)
    return res


@torch.no_grad()
def recalibrate_bn(model, gen, n, size):
    """Re-estimate BatchNorm running statistics as a plain average over n synthetic full-size volumes."""
    moms = {}
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm3d):
            m.reset_running_stats()
            moms[m] = m.momentum
            m.momentum = None
    model.train()
    dev = next(model.parameters()).device
    for _ in range(n):
        x, _, _ = gen.sample(size)
        model(x[None].to(dev))
    for m, mom in moms.items():
        m.momentum = mom


def save(out, model, curves, metrics):
    sd = {k: v.detach().cpu() for k, v in model.state_dict().items()}  # a CPU checkpoint whatever trained it
    tmp = os.path.join(out, 'checkpoint.pth.tmp')
    torch.save(sd, tmp)
    os.replace(tmp, os.path.join(out, 'checkpoint.pth'))
    with open(os.path.join(out, 'curves.json'), 'w') as f:
        json.dump(curves, f)
    with open(os.path.join(out, 'metrics.json'), 'w') as f:
        json.dump(metrics, f, indent=1)
    tr = curves['train']
    k = max(1, len(tr['step']) // 200)  # smoothed training curves
    sm = lambda v: [float(np.mean(v[i:i + k])) for i in range(0, len(v), k)]  # noqa: E731
    xs = sm(tr['step'])
    va = curves['val']
    panels = [('train loss (seg CE+Dice, class CE)', {'seg': (xs, sm(tr['seg_loss'])), 'class': (xs, sm(tr['class_loss']))}),
              ('validation Dice (synthetic GM, WM; ch2 brain, GM, WM)', {
                  'syn GM': (va['step'], [v['synthetic_dice_mean']['grey matter'] for v in va['metrics']]),
                  'syn WM': (va['step'], [v['synthetic_dice_mean']['white matter'] for v in va['metrics']]),
                  'ch2 brain': (va['step'], [v['ch2_brain_dice'] for v in va['metrics']]),
                  'ch2 GM': (va['step'], [v['ch2_dice']['grey matter'] for v in va['metrics']]),
                  'ch2 WM': (va['step'], [v['ch2_dice']['white matter'] for v in va['metrics']])})]
    try:
        plot(os.path.join(out, 'curves.png'), panels)
    except Exception as e:  # a plot must never cost the checkpoint
        print('plot failed:', e, flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', default=os.path.join(HERE, 'runs', 'final'))
    ap.add_argument('--smoke', action='store_true', help='a few steps on 48^3 crops (CI), < 60 s')
    ap.add_argument('--minutes', type=float, default=100.0, help='training time budget (wall clock)')
    ap.add_argument('--max-steps', type=int, default=10 ** 9)
    ap.add_argument('--stop-minutes', type=float, default=None,
                    help='stop after this many minutes although the schedule spans --minutes, and save the weights '
                         'as they are (no BN re-estimation): reproduces the hand-stopped stages of run_final.sh')
    ap.add_argument('--depth', type=int, default=10)
    ap.add_argument('--width', type=int, default=8)
    ap.add_argument('--crop', default='80,96,128', help='training crop sizes (voxels of 2 mm), drawn per step')
    ap.add_argument('--crop-p', default='0.4,0.4,0.2', help='their probabilities')
    ap.add_argument('--lr', type=float, default=2e-3)
    ap.add_argument('--class-weight', type=float, default=0.5)
    ap.add_argument('--val-every', type=float, default=10.0, help='minutes between validations/checkpoints')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--device', default='cpu', help="'cuda' trains on the GPU (the generator stays in the CPU worker processes: "
                                                     "give it --workers); the checkpoint is saved as CPU tensors either way")
    ap.add_argument('--workers', type=int, default=1, help='generator processes (0 = in the training process)')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--contrast', default='realistic', choices=['wide', 'realistic'], help='contrast recipes (synth.CONTRASTS)')
    ap.add_argument('--real-p', type=float, default=0.0,
                    help='probability that a training sample is the real Colin27 T1 (deformed and degraded) instead of a synthetic image')
    ap.add_argument('--neck', default='blobs', choices=['blobs', 'extrude'],
                    help='the head below the template: random head-tissue blobs, or its edge slice extruded (phases 1-5)')
    ap.add_argument('--cut-target', default='background', choices=['background', 'keep'],
                    help='labels beyond a simulated field-of-view cut: background, or kept as they were (phases 1-6)')
    ap.add_argument('--flair', default='classic', choices=['classic', 'wide', 'lowcontrast'],
                    help="FLAIR recipe: 'wide' adds weakly suppressed CSF and low grey/white contrast, 'lowcontrast' also "
                         "white matter slightly brighter than grey (synth.draw_means)")
    ap.add_argument('--families', default='order', choices=['order', 'contrast'],
                    help="contrast-family rule (synth.family_of): 'order' of the tissue means (runs/final), or "
                         "'contrast': T1 vs FLAIR by the share of grey/white contrast in the tissue/CSF contrast")
    ap.add_argument('--trainable', default='',
                    help='train only parameters whose names start with one of these comma-separated prefixes '
                         '(e.g. head_fc: re-fit the contrast head on a family-balanced mix); default all')
    ap.add_argument('--init', default=None, help='start from this checkpoint (state_dict) instead of random weights')
    ap.add_argument('--warmup', type=int, default=50, help='linear learning-rate warm-up steps')
    ap.add_argument('--freeze-bn', action='store_true',
                    help='re-estimate BatchNorm statistics once at the start (on full-size synthetic volumes), then keep '
                         'them fixed: trains exactly the function that runs at inference (batch-1 BN otherwise acts '
                         'as instance norm in training only)')
    args = ap.parse_args()
    if args.smoke:
        args.minutes, args.max_steps, args.crop, args.crop_p, args.workers, args.val_every = 0.5, 3, '48', '1', 0, 1e9
    try:
        device = torch.device(args.device)
    except RuntimeError:
        raise SystemExit(f"train.py: --device {args.device}: not a device; expected cpu, cuda or cuda:N")
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise SystemExit(f'train.py: --device {args.device}: this PyTorch sees no CUDA GPU; expected --device cpu here')
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    genpath = os.path.join(DATA, 'ch2_genlabels.nii.gz')
    if not os.path.exists(genpath) or not os.path.exists(os.path.join(DATA, 'ch2_tissue.nii.gz')):
        subprocess.run([sys.executable, os.path.join(HERE, 'derive_labels.py'), '--out', DATA], check=True)

    init = torch.load(args.init) if args.init else None
    model = build_model(args.depth, args.width, head_cue=head_cue_of(init) if init else None)  # a fit_head.py output too
    if init:
        model.load_state_dict(init, strict=True)
    model.to(device)
    n_params = sum(p.numel() for p in model.parameters())
    val_size = 48 if args.smoke else geometry.SIZE
    vals = make_val(genpath, 2 if args.smoke else 8, val_size, contrast=args.contrast, flair=args.flair, families=args.families)
    ch2 = real_ch2(val_size)
    trainable = [p for name, p in model.named_parameters() if not args.trainable or name.startswith(tuple(args.trainable.split(',')))]
    if not trainable:
        raise SystemExit(f'--trainable {args.trainable}: no parameter name starts with that')
    trainable_ids = {id(p) for p in trainable}
    for p in model.parameters():
        p.requires_grad_(id(p) in trainable_ids)
    opt = torch.optim.Adam(trainable, lr=args.lr)
    # one set of generator settings for training and BatchNorm re-estimation (validation: make_val, fixed volumes)
    gen_options = dict(contrast=args.contrast, real_image=REAL_T1, real_p=args.real_p, neck=args.neck, cut_target=args.cut_target,
                       flair=args.flair, families=args.families)
    loader = iter(torch.utils.data.DataLoader(TrainSet(genpath, args.seed, ([int(c) for c in args.crop.split(',')], [float(p) for p in args.crop_p.split(',')]), gen_options), batch_size=None,
                                              num_workers=args.workers, **({'prefetch_factor': 4} if args.workers else {})))
    curves = {'train': {'step': [], 'time_s': [], 'seg_loss': [], 'class_loss': [], 'lr': []}, 'val': {'step': [], 'time_s': [], 'metrics': []}}
    config = {k: v for k, v in vars(args).items()}
    config.update(params=n_params, torch=torch.__version__,
                  device_name=torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu', seg_classes=SEG_NAMES, class_names=FAMILIES,
                  geometry={'mode': 'conform', 'orientation': geometry.ORIENTATION, 'size': geometry.SIZE,
                            'spacing': geometry.SPACING, 'uint8': False},
                  normalisation={'kind': 'percentile', 'lower': geometry.P_LOW, 'upper': geometry.P_HIGH, 'then': 'minmax'})
    print(json.dumps(config), flush=True)
    budget = args.minutes * 60
    # with --trainable the rest of the network is fixed as it came, BatchNorm statistics included
    keep_bn = args.freeze_bn or bool(args.trainable)
    if args.freeze_bn and not args.trainable:
        recalibrate_bn(model, Generator(genpath, seed=998, **gen_options), 2 if args.smoke else 24, val_size)
        print('BN statistics re-estimated and frozen', flush=True)
    t0 = time.time()
    last_val = t0
    step = 0
    set_train(model, keep_bn)
    stop = budget if args.stop_minutes is None else min(budget, args.stop_minutes * 60)
    while step < args.max_steps and time.time() - t0 < stop:
        frac = min(1.0, (time.time() - t0) / budget)
        lr = args.lr * min(1.0, (step + 1) / args.warmup) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))
        for g in opt.param_groups:
            g['lr'] = lr
        x, y, f = next(loader)
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        seg, cls = model(x[None])
        seg_loss = F.cross_entropy(seg, y[None]) + dice_loss(seg, y[None])
        cls_loss = F.cross_entropy(cls, torch.tensor([f], device=device)) if f >= 0 else torch.zeros((), device=device)
        loss = seg_loss + args.class_weight * cls_loss
        opt.zero_grad(set_to_none=True)
        if loss.requires_grad:  # with --trainable head_fc, a sample of no family teaches nothing
            loss.backward()
            opt.step()
        step += 1
        el = time.time() - t0
        tr = curves['train']
        tr['step'].append(step); tr['time_s'].append(round(el, 1)); tr['lr'].append(lr)
        tr['seg_loss'].append(round(float(seg_loss.detach()), 5)); tr['class_loss'].append(round(float(cls_loss.detach()), 5))
        if step % 10 == 0 or args.smoke:
            n = min(50, len(tr['step']))
            print(f'step {step} t {el:.0f}s it/s {step / el:.3f} lr {lr:.2e} seg {np.mean(tr["seg_loss"][-n:]):.4f} '
                  f'class {np.mean(tr["class_loss"][-n:]):.4f}', flush=True)
        if time.time() - last_val > args.val_every * 60:
            last_val = time.time()
            m = validate(model, vals, ch2, keep_bn)
            curves['val']['step'].append(step); curves['val']['time_s'].append(round(el, 1)); curves['val']['metrics'].append(m)
            print('val', json.dumps(m), flush=True)
            save(args.out, model, curves, {'config': config, 'steps': step, 'train_seconds': round(el, 1),
                                           'iterations_per_second': round(step / el, 4), 'partial': True, 'last_validation': m})
    train_s = time.time() - t0
    print(f'training done: {step} steps in {train_s:.0f}s ({step / train_s:.3f} it/s)', flush=True)
    if not keep_bn and args.stop_minutes is None:  # frozen statistics are part of what was trained: keep them
        recalibrate_bn(model, Generator(genpath, seed=999, **gen_options), 2 if args.smoke else 16, val_size)
    m = validate(model, vals, ch2)
    curves['val']['step'].append(step); curves['val']['time_s'].append(round(train_s, 1)); curves['val']['metrics'].append(m)
    metrics = {'config': config, 'steps': step, 'train_seconds': round(train_s, 1), 'iterations_per_second': round(step / train_s, 4),
               'total_seconds': round(time.time() - t0, 1), 'partial': False, 'final_validation': m}
    save(args.out, model, curves, metrics)
    print('final', json.dumps(m), flush=True)
    # sanity: the checkpoint loads strictly into a fresh reference model
    fresh = build_model(args.depth, args.width, head_cue=model.head_cue)
    fresh.load_state_dict(torch.load(os.path.join(args.out, 'checkpoint.pth')), strict=True)
    print(f'saved {args.out}/checkpoint.pth ({os.path.getsize(os.path.join(args.out, "checkpoint.pth")) / 1e6:.2f} MB)', flush=True)


if __name__ == '__main__':
    main()
