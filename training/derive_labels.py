"""Derive training label maps from Debian's mricron-data (BSD-3, MRIcron, Chris Rorden).

Inputs (all in the MNI-like Colin27 space, /usr/share/mricron/templates):
  ch2.nii.gz      Colin27 T1 with skull (181x217x181, 1 mm, RAS)
  ch2bet.nii.gz   its brain-extracted twin (same grid, identical intensities inside the brain)
  HarvardOxford-cort-maxprob-thr0-1mm, JHU-WhiteMatter-labels-1mm, aal   (atlases, resampled here
                  by nearest neighbour through world coordinates onto the ch2 grid)

Method (documented in training/README.md and docs/model-card.md):
  1. brain mask = ch2bet > 0, then light clean-up: fill holes, binary opening (1 iteration, 6-conn.),
     largest connected component, fill holes again.
  2. tissues inside the mask: 3-class 1-D k-means on the ch2bet intensities, read as Gaussians
     with one pooled within-class sd (equal weights), combined with spatial priors from the atlases (Bayes: posterior ∝ likelihood
     × prior): JHU white-matter labels → WM prior 0.70 (GM 0.20, CSF 0.10); Harvard-Oxford cortical
     labels → GM prior 0.50 (WM 0.30, CSF 0.20); AAL caudate/putamen/pallidum/thalamus → GM prior 0.80
     (WM 0.15, CSF 0.05); elsewhere uniform. Argmax, then a 3x3x3 majority filter inside the mask.
     Deep grey matter (the four AAL nuclei where the tissue is GM or WM) is kept as its own
     *generation* label (it is grey matter in the training target).
  3. non-brain head: head mask = ch2 > 12 (filled, closed, largest component) minus the brain;
     its ch2 intensities are split by k-means into 3 clusters (dark: bone/CSF-like, middle: muscle/
     skin, bright: fat/marrow) → 3 generation labels that map to background.

Outputs (training/data/, regenerable, git-ignored):
  ch2_genlabels.nii.gz  generation labels 0 air, 1 CSF, 2 GM, 3 WM, 4 deep GM, 5..7 head clusters
  ch2_tissue.nii.gz     training target 0 background, 1 CSF, 2 GM, 3 WM
"""
import argparse
import json
import os

import nibabel as nib
import numpy as np
from scipy import ndimage as ndi

TEMPLATES = '/usr/share/mricron/templates'
GEN_NAMES = ['air', 'CSF', 'grey matter', 'white matter', 'deep grey matter', 'head dark', 'head mid', 'head bright']
GEN_TO_TARGET = [0, 1, 2, 3, 2, 0, 0, 0]
AAL_DEEP_GM = list(range(71, 79))  # caudate, putamen, pallidum, thalamus (L/R)


def load(name):
    img = nib.load(os.path.join(TEMPLATES, name))
    return img, np.asanyarray(img.dataobj)


def to_grid(src_img, ref_img):
    """Nearest-neighbour resampling of an atlas onto ref_img's voxel grid through world coordinates."""
    data = np.asanyarray(src_img.dataobj)
    m = np.linalg.inv(src_img.affine) @ ref_img.affine
    idx = np.indices(ref_img.shape).reshape(3, -1)
    src = np.rint(m[:3, :3] @ idx + m[:3, 3:]).astype(np.int64)
    ok = np.all((src >= 0) & (src < np.array(data.shape)[:, None]), axis=0)
    out = np.zeros(idx.shape[1], data.dtype)
    out[ok] = data[src[0, ok], src[1, ok], src[2, ok]]
    return out.reshape(ref_img.shape)


def largest_cc(mask):
    lab, n = ndi.label(mask)
    if n <= 1:
        return mask
    sizes = ndi.sum(mask, lab, range(1, n + 1))
    return lab == (1 + int(np.argmax(sizes)))


def kmeans1d(x, k, iters=100):
    """k-means on integer-valued intensities, computed on their histogram (exact, fast)."""
    v, n = np.unique(np.rint(x).astype(np.int64), return_counts=True)
    v = v.astype(np.float64)
    c = np.percentile(x, np.linspace(100 / (2 * k), 100 - 100 / (2 * k), k))
    for _ in range(iters):
        a = np.argmin(np.abs(v[:, None] - c[None]), 1)
        c = np.array([np.average(v[a == j], weights=n[a == j]) for j in range(k)])
    a = np.argmin(np.abs(v[:, None] - c[None]), 1)
    sd = np.sqrt(sum(((v[a == j] - c[j]) ** 2 * n[a == j]).sum() for j in range(k)) / n.sum())
    w = np.array([n[a == j].sum() for j in range(k)], np.float64) / n.sum()
    order = np.argsort(c)
    return c[order], sd, w[order]


def derive():
    ch2_img, ch2 = load('ch2.nii.gz')
    bet_img, bet = load('ch2bet.nii.gz')
    assert np.allclose(ch2_img.affine, bet_img.affine) and ch2.shape == bet.shape
    ch2 = ch2.astype(np.float32)
    bet = bet.astype(np.float32)

    # 1. brain mask
    brain = ndi.binary_fill_holes(bet > 0)
    brain = ndi.binary_opening(brain, iterations=1)
    brain = ndi.binary_fill_holes(largest_cc(brain))

    # 2. tissues
    x = ch2[brain]
    mu, sd, w = kmeans1d(x, 3)  # common (pooled) within-class sd
    ho = to_grid(nib.load(os.path.join(TEMPLATES, 'HarvardOxford-cort-maxprob-thr0-1mm.nii.gz')), ch2_img)
    jhu = to_grid(nib.load(os.path.join(TEMPLATES, 'JHU-WhiteMatter-labels-1mm.nii.gz')), ch2_img)
    aal = to_grid(nib.load(os.path.join(TEMPLATES, 'aal.nii.gz')), ch2_img)
    prior = np.full(ch2.shape + (3,), 1.0 / 3, np.float32)
    prior[ho > 0] = (0.20, 0.50, 0.30)
    prior[jhu > 0] = (0.10, 0.20, 0.70)
    deep = np.isin(aal, AAL_DEEP_GM)
    prior[deep] = (0.05, 0.80, 0.15)
    like = np.exp(-0.5 * ((x[:, None] - mu) / sd) ** 2)
    post = like * prior[brain]
    tissue_in = 1 + np.argmax(post, 1)  # 1 CSF, 2 GM, 3 WM
    tissue = np.zeros(ch2.shape, np.uint8)
    tissue[brain] = tissue_in
    # 3x3x3 majority filter inside the mask (one-hot box counts)
    counts = np.stack([ndi.uniform_filter((tissue == c).astype(np.float32), 3) for c in (1, 2, 3)], -1)
    tissue[brain] = 1 + np.argmax(counts[brain], 1)

    # 3. non-brain head
    head = np.pad(ch2 > 12, 4, mode='edge')  # edge padding: the closing must not erode the cut neck
    head = ndi.binary_closing(head, iterations=3)[4:-4, 4:-4, 4:-4]
    head = largest_cc(head)
    head = np.stack([ndi.binary_fill_holes(head[:, :, k]) for k in range(head.shape[2])], 2)
    head = ndi.binary_fill_holes(head) | brain
    scalp = head & ~brain
    c = kmeans1d(ch2[scalp], 3)[0]
    scalp_cluster = np.argmin(np.abs(ch2[scalp][:, None] - c[None]), 1)

    gen = tissue.copy()
    gen[brain & deep & (tissue >= 2)] = 4
    gen[scalp] = 5 + scalp_cluster.astype(np.uint8)
    info = {
        'brain_voxels_ml': float(brain.sum()) / 1000,
        'kmeans_centres': mu.tolist(), 'pooled_sd': float(sd), 'kmeans_weights': w.tolist(),
        'tissue_ml': {n: float((tissue == k).sum()) / 1000 for k, n in [(1, 'CSF'), (2, 'GM'), (3, 'WM')]},
        'head_cluster_means': c.tolist(),
        'gen_ml': {n: float((gen == k).sum()) / 1000 for k, n in enumerate(GEN_NAMES)},
    }
    return ch2_img, gen, tissue, info


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', default=os.path.join(os.path.dirname(os.path.abspath(__file__)), 'data'))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    img, gen, tissue, info = derive()
    for name, arr in [('ch2_genlabels.nii.gz', gen), ('ch2_tissue.nii.gz', tissue)]:
        out = nib.Nifti1Image(arr.astype(np.uint8), img.affine)
        out.header.set_xyzt_units('mm')
        nib.save(out, os.path.join(args.out, name))
    with open(os.path.join(args.out, 'derive_info.json'), 'w') as f:
        json.dump(info, f, indent=1)
    print(json.dumps(info, indent=1))


if __name__ == '__main__':
    main()
