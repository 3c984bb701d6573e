"""Evaluate a trained checkpoint on real scans never used in training, with the preprocessing the
bundle's manifest declares (training/geometry.py: conform 128^3, 2 mm, RAS, float; percentile 0.5-99.5
then minmax; class probabilities interpolated back onto the input grid, then argmax, as the app does).

  python3 training/evaluate.py --run training/runs/final [--save-dir /tmp/segtransfer-eval]

Scans (../shared/data, read only):
  mri/t1_crop.nii.gz                      256^3 1 mm LIA full-head T1
  meshnet-gwm/t1_crop_reference.nii.gz    its reference (1 = white matter, 2 = grey matter)
  mri/FLAIR.nii.gz                        a FLAIR (classification only)
Reports: brain-mask Dice (ours label > 0, and ours GM ∪ WM, vs reference > 0), GM Dice (ours 2 vs
reference 2), WM Dice (ours 3 vs reference 1) for the bundle as shipped (with the intensity refinement
of manifest-facts.json's output.refinement, geometry.refine_by_intensity) and for the network alone
(network_only), contrast-family probabilities, PyTorch forward time.
Writes <run>/evaluation.json (and NIfTI predictions to --save-dir when given).
"""
import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, 'test', 'fixtures', 'transfer'))

import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import geometry  # noqa: E402
from synth import FAMILIES  # noqa: E402
from train import build_model, head_cue_of  # noqa: E402

SHARED = os.path.join(ROOT, '..', 'shared', 'data')
# The bundle's output.refinement (label values = channel indices for this model), as shipped.
_facts = json.load(open(os.path.join(HERE, 'manifest-facts.json')))
_refinement = _facts['output'].get('refinement') or {}
REFINE = _refinement.get('labels')  # label values = channel indices for this model
# the rest as the manifest's defaults (src/engine/bundle/manifest.ts) unless manifest-facts sets them
REFINE_OPTIONS = {'min_probability': _refinement.get('minProbability', 0.01), 'max_iterations': _refinement.get('maxIterations', 50),
                  'tolerance': _refinement.get('tolerance', 1e-5), 'bias_field_order': _refinement.get('biasFieldOrder', 2)}


def dice(a, b):
    s = int(a.sum()) + int(b.sum())
    return round(2 * int((a & b).sum()) / s, 4) if s else float('nan')


def run(model, img):
    x, aff = geometry.preprocess(img)
    with torch.no_grad():
        model(x)  # warm-up
        t = time.time()
        seg, cls = model(x)
        dt = time.time() - t
    labels = seg.argmax(1)[0].numpy().astype(np.uint8)
    probs = dict(zip(FAMILIES, [round(float(p), 4) for p in cls.softmax(1)[0]]))
    return labels, seg.softmax(1)[0].numpy(), aff, probs, dt


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--run', default=os.path.join(HERE, 'runs', 'final'))
    ap.add_argument('--checkpoint', default=None, help='default: <run>/checkpoint.pth')
    ap.add_argument('--data', default=SHARED)
    ap.add_argument('--save-dir', default=None)
    ap.add_argument('--threads', type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = json.load(open(os.path.join(args.run, 'metrics.json')))['config']
    state = torch.load(args.checkpoint or os.path.join(args.run, 'checkpoint.pth'))
    model = build_model(cfg['depth'], cfg['width'], head_cue=head_cue_of(state))
    model.load_state_dict(state, strict=True)
    model.eval()

    t1 = nib.load(os.path.join(args.data, 'mri', 't1_crop.nii.gz'))
    ref = np.asanyarray(nib.load(os.path.join(args.data, 'meshnet-gwm', 't1_crop_reference.nii.gz')).dataobj)
    lab, seg_p, aff, probs_t1, dt = run(model, t1)
    back = geometry.labels_from_probabilities(seg_p, aff, t1, refine=REFINE, **REFINE_OPTIONS)
    raw = geometry.labels_from_probabilities(seg_p, aff, t1)

    def scores(lab):
        return {
            'brain_mask_dice_label_gt0': dice(lab > 0, ref > 0),
            'brain_mask_dice_gm_wm': dice((lab == 2) | (lab == 3), ref > 0),
            'gm_dice': dice(lab == 2, ref == 2),
            'wm_dice': dice(lab == 3, ref == 1),
            'volumes_ml': {'ours_csf': int((lab == 1).sum()) / 1000, 'ours_gm': int((lab == 2).sum()) / 1000,
                           'ours_wm': int((lab == 3).sum()) / 1000, 'ref_gm': int((ref == 2).sum()) / 1000,
                           'ref_wm': int((ref == 1).sum()) / 1000},
        }
    res = {
        't1_crop': {
            **scores(back),
            'network_only': scores(raw),
            'class_probs': probs_t1,
            'predicted_family': max(probs_t1, key=probs_t1.get),
        },
        'pytorch_forward_seconds_128': round(dt, 3),
    }
    flair = nib.load(os.path.join(args.data, 'mri', 'FLAIR.nii.gz'))
    lab_f, seg_pf, aff_f, probs_f, _ = run(model, flair)
    res['FLAIR'] = {'class_probs': probs_f, 'predicted_family': max(probs_f, key=probs_f.get)}
    res['checkpoint'] = args.checkpoint or os.path.join(args.run, 'checkpoint.pth')
    if args.save_dir:
        os.makedirs(args.save_dir, exist_ok=True)
        nib.save(nib.Nifti1Image(back, t1.affine), os.path.join(args.save_dir, 't1_crop_seg.nii.gz'))
        nib.save(nib.Nifti1Image(geometry.labels_from_probabilities(seg_pf, aff_f, flair, refine=REFINE, **REFINE_OPTIONS), flair.affine), os.path.join(args.save_dir, 'FLAIR_seg.nii.gz'))
        nib.save(nib.Nifti1Image(lab, aff), os.path.join(args.save_dir, 't1_crop_seg_model_grid.nii.gz'))
    with open(os.path.join(args.run, 'evaluation.json'), 'w') as f:
        json.dump(res, f, indent=1)
    print(json.dumps(res, indent=1))


if __name__ == '__main__':
    main()
