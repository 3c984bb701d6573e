"""SynthSeg-style generator: random-contrast, randomly deformed images from one label map.

Every sample is a crop of the model's working grid (2 mm voxels, RAS axes; the bundle conforms the
input to 128^3 of them) filled from the Colin27 generation labels (derive_labels.py):

  geometry   random head position (±25 mm), L-R flip (p 0.5), rotations ±15° per axis, scaling
             0.85-1.15 per axis, a smooth random displacement field (5^3 control points, sd 0-3 mm,
             trilinear), optional limited field of view (p 0.2: everything beyond a random plane -> 0, image and target).
             The 1 mm label map is sampled by nearest neighbour at the 2 mm voxel centres (outside the
             template: its edge slices extruded, i.e. air at the sides and top; below the template, inside
             the outline of its lowest slice, random smooth blobs of the head-tissue labels: the neck);
             the target is the generation label mapped to the 4 target classes.
  real T1    with probability real_p the image is the real Colin27 T1 itself at those points (trilinear),
             neck blobs drawn with its own head-tissue intensities, then the same scanner effects.
  intensity  one Gaussian per generation label (mean, sd), drawn independently per voxel;
             the 3 non-brain head labels and air map to background but get their own intensities, so
             the model learns to strip skull and scalp (p 0.15: head tissue drawn as air, i.e. an
             already skull-stripped scan). Then a smooth multiplicative bias field
             (exp of a 4^3 field, sd 0-0.3), Gaussian blur (sigma 0.3-1 voxel per axis, standing in for
             partial volume), a resolution
             change (p 0.3: one axis down-sampled 1.5-3x then up again), additive noise (sd 0-0.04),
             the app's normalisation (percentile 0.5-99.5, minmax), and a gamma (exp N(0, 0.2)).
  contrast   the tissue means (CSF, GM, WM) are drawn from one of 5 recipes (CONTRASTS): 'wide' T1 0.30,
             T2 0.15, PD 0.15, FLAIR 0.15, fully random U(0,1) 0.25; 'realistic' T1 0.40, T2 0.20, PD 0.15,
             FLAIR 0.20, random 0.05, and the head tissues from per-recipe ranges (HEAD) with p 0.7
             (else U(0,1)). The family target is then decided *only* from
             the order of the drawn means (family_of below), so recipe and rule never disagree; a random
             draw that fits no family gets target -1 (no classification loss).
"""
import math

import nibabel as nib
import numpy as np
import torch
from torch.nn import functional as F

from geometry import SPACING, normalise_torch

FAMILIES = ['T1-like', 'T2-like', 'PD-like', 'FLAIR-like']
GEN_TO_TARGET = [0, 1, 2, 3, 2, 0, 0, 0]
N_GEN = len(GEN_TO_TARGET)
N_TARGET = 4


def family_of(csf, gm, wm, rule='order'):
    """Contrast family from the tissue means (intensities on a 0..1 scale).
    rule 'order' (how runs/phase1..7 and runs/final were trained):
      T1-like     WM > GM > CSF (WM - GM >= 0.03)
      PD-like     GM >= WM and |CSF - GM| <= 0.10 (flat: CSF about GM)
      T2-like     CSF > GM >= WM and CSF - GM > 0.10
      FLAIR-like  GM >= WM > CSF and WM - CSF >= 0.05 (dark CSF)
    rule 'contrast': the same, except that T1 and FLAIR are told apart by how much of the tissue/CSF
      contrast (span = WM - CSF) lies between grey and white matter rather than by their order alone.
      In a T1 grey matter sits well between CSF and white matter; a FLAIR nulls CSF and leaves grey and
      white matter close, either way round (GM brighter at 3 T, often about equal or WM slightly
      brighter at 1.5 T or with partial volume):
      T1-like     WM > GM > CSF, WM - GM >= 0.03 and WM - GM >= 0.25 span
      FLAIR-like  GM - CSF >= 0.05, WM - CSF >= 0.05 and WM - GM <= 0.20 span
      (between 0.20 and 0.25 of the span: unlabelled).
    anything else: -1 (unlabelled)."""
    if rule not in ('order', 'contrast'):
        raise ValueError(f"rule must be 'order' or 'contrast', got {rule!r}")
    span = wm - csf
    if wm > gm > csf and wm - gm >= 0.03 and (rule == 'order' or wm - gm >= 0.25 * span):
        return 0
    if gm >= wm and abs(csf - gm) <= 0.10:
        return 2
    if csf > gm >= wm and csf - gm > 0.10:
        return 1
    if rule == 'order':
        if gm >= wm > csf and span >= 0.05:
            return 3
    elif gm - csf >= 0.05 and span >= 0.05 and wm - gm <= 0.20 * span:
        return 3
    return -1


# Contrast recipes: cumulative probabilities of T1, T2, PD, FLAIR (the rest: fully random means).
CONTRASTS = {
    'wide': (0.30, 0.45, 0.60, 0.75),       # SynthSeg-like: 25 % fully random contrasts
    'realistic': (0.40, 0.60, 0.75, 0.95),  # 5 % fully random: learns faster on a short CPU budget
}
# Non-brain head tissues (dark bone-like, muscle/skin, fat/marrow) per recipe: (lo, hi) of the mean.
HEAD = {
    'T1': ((0.0, 0.20), (0.20, 0.55), (0.55, 1.0)),
    'T2': ((0.0, 0.20), (0.05, 0.35), (0.40, 0.90)),
    'PD': ((0.0, 0.25), (0.25, 0.60), (0.45, 0.95)),
    'FLAIR': ((0.0, 0.20), (0.10, 0.45), (0.45, 1.0)),
}


def draw_means(rng, contrast='wide', flair='classic'):
    """-> (csf, gm, wm), head means (3,). 'wide': head tissue means U(0, 1); 'realistic': from the
    recipe's ranges (HEAD) with p 0.7, else U(0, 1). flair 'wide' also draws FLAIRs with incompletely
    suppressed CSF (up to 0.35) and little grey/white contrast (GM - WM from 0), as 3D FLAIRs at 3 T
    often look; 'classic' (CSF <= 0.2, GM - WM >= 0.04) is what the segmentation stages used;
    'lowcontrast' (CSF up to 0.35, GM - WM from -0.2 to +0.5 of WM - CSF) goes with family rule
    'contrast', under which all its draws are FLAIR-like."""
    if flair not in ('classic', 'wide', 'lowcontrast'):
        raise ValueError(f"flair must be 'classic', 'wide' or 'lowcontrast', got {flair!r}")
    u = rng.uniform
    r = rng.random()
    c = CONTRASTS[contrast]
    if r < c[0]:
        name = 'T1'; csf = u(0.0, 0.35); gm = csf + u(0.12, 0.40); wm = gm + u(0.06, 0.30)
    elif r < c[1]:
        name = 'T2'; wm = u(0.05, 0.40); gm = wm + u(0.05, 0.25); csf = gm + u(0.15, 0.55)
    elif r < c[2]:
        name = 'PD'; wm = u(0.30, 0.70); gm = wm + u(0.02, 0.15); csf = gm + u(-0.08, 0.08)
    elif r < c[3]:
        name = 'FLAIR'
        if flair == 'wide':
            csf = u(0.0, 0.35); wm = csf + u(0.08, 0.45); gm = wm + u(0.0, 0.25)
        elif flair == 'lowcontrast':  # grey/white contrast small either way round (family rule 'contrast')
            csf = u(0.0, 0.35); span = u(0.10, 0.50); wm = csf + span; gm = wm + span * u(-0.20, 0.50)
        else:
            csf = u(0.0, 0.20); wm = csf + u(0.15, 0.45); gm = wm + u(0.04, 0.25)
    else:
        name = None; csf, gm, wm = u(0, 1, 3)
    if contrast == 'realistic' and name is not None and rng.random() < 0.7:
        head = np.array([u(lo, hi) for lo, hi in HEAD[name]])
    else:
        head = u(0, 1, 3)
    return (float(csf), float(gm), float(wm)), head


def gaussian_blur(x, sigmas):
    """Separable Gaussian blur of x [1, 1, D, H, W] with per-axis sigma (voxels)."""
    for axis, s in enumerate(sigmas):
        if s < 0.2:
            continue
        r = max(1, int(math.ceil(3 * s)))
        k = torch.exp(-0.5 * (torch.arange(-r, r + 1, dtype=torch.float32) / s) ** 2)
        k = (k / k.sum())
        shape = [1, 1, 1, 1, 1]
        shape[2 + axis] = 2 * r + 1
        pad = [0, 0, 0, 0, 0, 0]
        pad[2 * (2 - axis)] = pad[2 * (2 - axis) + 1] = r
        x = F.conv3d(F.pad(x, pad, mode='replicate'), k.view(shape))
    return x


class Generator:
    def __init__(self, genlabels_path, seed=0, contrast='wide', real_image=None, real_p=0.0, neck='blobs', cut_target='background', flair='classic', families='order'):
        """real_image: the real scan the labels were derived from (Colin27 ch2.nii.gz, same grid);
        with probability real_p a sample is that scan itself, deformed and degraded like the synthetic
        ones (family T1-like): real texture, partial volume and head anatomy that three Gaussian head
        classes cannot imitate. neck: what fills the head below the template ('blobs', or 'extrude': the
        edge slice repeated, brain labels there as head tissue; how runs/phase1..5 were trained). families:
        the contrast-family rule (family_of)."""
        if neck not in ('blobs', 'extrude'):
            raise ValueError(f"neck must be 'blobs' or 'extrude', got {neck!r}")
        if cut_target not in ('background', 'keep'):
            raise ValueError(f"cut_target must be 'background' or 'keep', got {cut_target!r}")
        self.contrast, self.neck, self.cut_target, self.flair, self.families = contrast, neck, cut_target, flair, families
        family_of(0.0, 0.5, 1.0, families)  # rejects an unknown rule here, not in a worker
        self.real_p = real_p if real_image else 0.0
        img = nib.load(genlabels_path)
        lab = torch.from_numpy(np.asanyarray(img.dataobj).astype(np.int64))
        self.shape = lab.shape
        self.labels = lab.float()[None, None].contiguous()
        self.to_target = torch.tensor(GEN_TO_TARGET)
        self.affine = img.affine
        self.inv = np.linalg.inv(img.affine)
        head = np.argwhere(np.asanyarray(img.dataobj) > 0)
        self.centre = (img.affine @ np.append(head.mean(0), 1.0))[:3]  # world centre of the head
        self.rng = np.random.default_rng(seed)
        self.gen = torch.Generator().manual_seed(seed)
        self.real = None
        if self.real_p > 0:
            r = nib.load(real_image)
            if r.shape[:3] != self.shape or not np.allclose(r.affine, img.affine, atol=1e-4):
                raise ValueError(f'{real_image}: not on the grid of {genlabels_path}')
            data = np.asanyarray(r.dataobj).astype(np.float32)
            data = data / np.percentile(data, 99.5)
            self.real = torch.from_numpy(data)[None, None].contiguous()
            gen = np.asanyarray(img.dataobj)
            # per generation label: mean and sd of the scan (used for the synthetic neck below the template)
            self.real_mu = torch.tensor([float(data[gen == k].mean()) if (gen == k).any() else 0.0 for k in range(N_GEN)])
            self.real_sd = torch.tensor([float(data[gen == k].std()) if (gen == k).any() else 0.0 for k in range(N_GEN)])

    def randn(self, *shape):
        return torch.randn(*shape, generator=self.gen)

    def sample(self, size=96, augment=True):
        """-> image [1, S, S, S] float32 in [0, 1], target [S, S, S] int64 (0..3), family (int, -1 = none)."""
        rng = self.rng
        S = (size,) * 3 if isinstance(size, int) else tuple(size)
        # --- geometry: output voxel (RAS axes, 2 mm) -> world -> deformed world -> label voxel
        shift = rng.uniform(-25, 25, 3) if augment else np.zeros(3)
        lin = np.eye(3)
        if augment:
            a = np.deg2rad(rng.uniform(-15, 15, 3))
            rx = np.array([[1, 0, 0], [0, math.cos(a[0]), -math.sin(a[0])], [0, math.sin(a[0]), math.cos(a[0])]])
            ry = np.array([[math.cos(a[1]), 0, math.sin(a[1])], [0, 1, 0], [-math.sin(a[1]), 0, math.cos(a[1])]])
            rz = np.array([[math.cos(a[2]), -math.sin(a[2]), 0], [math.sin(a[2]), math.cos(a[2]), 0], [0, 0, 1]])
            lin = rx @ ry @ rz @ np.diag(rng.uniform(0.85, 1.15, 3))
            if rng.random() < 0.5:
                lin = lin @ np.diag([-1.0, 1.0, 1.0])
        # label index = inv3 @ (lin @ ((u - S/2) * 2 mm + shift) + disp(u) + centre) + inv_t
        inv3, inv_t = self.inv[:3, :3], self.inv[:3, 3]
        m = inv3 @ lin * SPACING
        b = inv3 @ (lin @ (shift - SPACING * np.array(S) / 2) + self.centre) + inv_t
        idx = [torch.arange(n, dtype=torch.float32) for n in S]
        u = torch.stack(torch.meshgrid(*idx, indexing='ij'), -1)
        vox = u @ torch.from_numpy(m.T).float() + torch.from_numpy(b).float()
        if augment:
            sd = rng.uniform(0, 3)
            ctrl = self.randn(1, 3, 5, 5, 5) * sd
            disp = F.interpolate(ctrl, size=S, mode='trilinear', align_corners=True)[0].permute(1, 2, 3, 0)
            vox = vox + disp @ torch.from_numpy(inv3.T).float()
        dims = torch.tensor(self.shape, dtype=torch.float32)
        grid = (vox * (2 / (dims - 1)) - 1).flip(-1)[None]
        # border padding extrudes the template's edge slices: air at the sides and top, and below the
        # template's lower edge (z = -71 mm, it ends in the neck) a head-tissue column, so the model sees
        # tissue under the brain as real scans have; brain labels there become head tissue ('head mid').
        gl = F.grid_sample(self.labels, grid, mode='nearest', padding_mode='border', align_corners=True)[0, 0].long()
        # Below the template's lower edge (z = -71 mm: it ends just under the cerebellum) real scans go on
        # into the neck. The extruded edge slice gives the neck's outline; inside it, random smooth blobs
        # of the three head-tissue labels stand in for muscle, fat and bone (the cord there is background).
        below = (vox[..., 2] < -0.5) & (gl != 0)
        neck = None  # the voxels given neck blobs (None: none)
        if self.neck == 'extrude':
            gl[below & (gl <= 4)] = 6
        elif below.any():
            neck = below
            gl[neck] = self._neck_labels(S)[neck]
        target = self.to_target[gl]

        if self.real is not None and rng.random() < self.real_p:
            # the real scan, trilinear at the 2 mm points (as the app's conform samples a 1 mm input)
            img = F.grid_sample(self.real, grid, mode='bilinear', padding_mode='border', align_corners=True)
            if neck is not None:  # the neck blobs, with the scan's own head-tissue intensities
                g = gl[neck]
                img[0, 0][neck] = self.real_mu[g] + self.real_sd[g] * self.randn(int(neck.sum()))
            if augment and rng.random() < 0.15:  # skull-stripped input
                img = img * (target > 0).float()[None, None]
            return self._degrade(img, target, S, augment, (0.0, 0.6)), target, 0
        # --- intensities
        (csf, gm, wm), head_mu = draw_means(rng, self.contrast, self.flair)
        family = family_of(csf, gm, wm, self.families)
        mu = np.empty(N_GEN)
        mu[0] = rng.uniform(0, 0.08)
        mu[1:4] = (csf, gm, wm)
        mu[4] = gm + rng.uniform(0.1, 0.9) * (wm - gm)
        mu[5:] = head_mu
        sig = rng.uniform(0.005, 0.05, N_GEN)
        sig[0] = rng.uniform(0.0, 0.02)
        if augment and rng.random() < 0.15:  # skull-stripped input (as many FLAIR/research scans): head = air
            mu[5:], sig[5:] = mu[0], sig[0]
        mu_t = torch.tensor(mu, dtype=torch.float32)
        sig_t = torch.tensor(sig, dtype=torch.float32)
        img = mu_t[gl] + sig_t[gl] * self.randn(*S)
        return self._degrade(img[None, None], target, S, augment, (0.3, 1.0)), target, family

    def _neck_labels(self, S):
        """Head-tissue generation labels (5, 6, 7) as random smooth blobs on the sample grid: a two-scale
        Gaussian random field (features of ~40 and ~18 mm at 2 mm voxels) cut at two random levels."""
        f = F.interpolate(self.randn(1, 1, 6, 6, 6), size=S, mode='trilinear', align_corners=True)
        f = f + 0.6 * F.interpolate(self.randn(1, 1, 14, 14, 14), size=S, mode='trilinear', align_corners=True)
        lo = float(self.rng.uniform(-0.6, 0.0))
        hi = lo + float(self.rng.uniform(0.4, 1.2))
        return 5 + (f[0, 0] > lo).long() + (f[0, 0] > hi).long()

    def _degrade(self, img, target, S, augment, blur):
        """Scanner effects on img [1, 1, *S]: bias field, blur (sigma range `blur`, voxels), resolution
        change, noise, limited field of view; then the app's normalisation and a gamma. -> [1, *S].
        A field-of-view cut also clears `target` there (in place; cut_target 'background'): a region the
        scan never imaged has no brain to label, and a model taught otherwise paints brain into the air
        at the edge of real volumes. cut_target 'keep' (phases 1-6) left the labels under the cut."""
        rng = self.rng
        if augment:
            bias = F.interpolate(self.randn(1, 1, 4, 4, 4) * rng.uniform(0, 0.3), size=S, mode='trilinear', align_corners=True)
            img = img * torch.exp(bias)
            img = gaussian_blur(img, rng.uniform(*blur, 3))  # synthetic: >= 0.3 stands in for partial volume
            if rng.random() < 0.3:
                ax = int(rng.integers(3))
                low = list(S)
                low[ax] = max(2, int(round(S[ax] / rng.uniform(1.5, 3.0))))
                img = F.interpolate(F.interpolate(img, size=low, mode='trilinear', align_corners=False), size=S, mode='trilinear', align_corners=False)
            img = img + self.randn(*img.shape) * rng.uniform(0, 0.04)
            img = img.abs()
            if rng.random() < 0.2:  # limited field of view
                ax = int(rng.integers(3))
                cut = int(rng.integers(int(S[ax] * 0.6), S[ax]))
                sl = [slice(None)] * 5
                if rng.random() < 0.5:
                    sl[2 + ax] = slice(cut, None)
                else:
                    sl[2 + ax] = slice(0, S[ax] - cut)
                img[tuple(sl)] = 0
                if self.cut_target == 'background':
                    target[tuple(sl[2:])] = 0
        img = normalise_torch(img[0, 0])
        if augment:
            img = img.clamp(min=0) ** float(np.exp(rng.normal(0, 0.2)))
        return img[None].float()
