"""The bundle's preprocessing in Python, identical to what the app does for the manifest declared in
training/README.md (conform to 128^3, 2 mm, RAS, float; percentile 0.5-99.5 then minmax; axisOrder xyz),
and the way back onto the input's grid (class probabilities interpolated trilinearly through world
coordinates, then argmax: the app's default `output.resampling: probabilities`).

Conform (src/engine/volume/conform.ts): target axes exactly along the world axes of the axis code,
origin such that target index size/2 lands on the world position of the input's continuous index
size/2; trilinear resampling in world space, outside the input -> 0.
"""
import numpy as np
import torch
from torch.nn import functional as F

SIZE = 128
SPACING = 2.0
ORIENTATION = 'RAS'
P_LOW, P_HIGH = 0.5, 99.5


def conform_affine(src_affine, src_shape, size=SIZE, spacing=SPACING):
    """RAS-oriented vox->world affine of the conformed grid (RAS axis code: +x, +y, +z)."""
    centre = src_affine @ np.array([src_shape[0] / 2, src_shape[1] / 2, src_shape[2] / 2, 1.0])
    aff = np.diag([spacing, spacing, spacing, 1.0])
    aff[:3, 3] = centre[:3] - spacing * (size / 2)
    return aff


def resample(data, src_affine, dst_affine, dst_shape, mode='bilinear', fill=0.0):
    """Sample `data` (numpy 3-D, nibabel i,j,k order) at the voxel centres of the destination grid.
    Trilinear (mode 'bilinear' in grid_sample terms) or nearest; points outside the input -> fill."""
    m = np.linalg.inv(src_affine) @ dst_affine
    idx = [torch.arange(n, dtype=torch.float64) for n in dst_shape]
    gi, gj, gk = torch.meshgrid(*idx, indexing='ij')
    pts = torch.stack([gi, gj, gk], -1) @ torch.from_numpy(m[:3, :3]).T + torch.from_numpy(m[:3, 3])
    dims = torch.tensor(data.shape, dtype=torch.float64)
    norm = 2 * pts / (dims - 1) - 1  # align_corners=True: index 0 -> -1, dim-1 -> +1
    grid = norm.flip(-1).float()[None]  # grid_sample wants (x=last dim, y, z=first dim)
    src = torch.from_numpy(np.ascontiguousarray(data, dtype=np.float32))[None, None]
    out = F.grid_sample(src, grid, mode=mode, padding_mode='border', align_corners=True)[0, 0]
    # as the app: inside when -0.5 <= index <= n - 0.5 on every axis (edge replication in that rim)
    inside = ((pts >= -0.5) & (pts <= dims - 0.5)).all(-1)
    return torch.where(inside, out, torch.tensor(float(fill))).numpy()


def normalise(x, p_low=P_LOW, p_high=P_HIGH):
    """percentile lower/upper (numpy linear interpolation, all voxels) -> clip -> minmax to [0, 1]."""
    lo, hi = np.percentile(x, [p_low, p_high])
    x = np.clip(x, lo, hi)
    return ((x - lo) / (hi - lo) if hi > lo else x - lo).astype(np.float32)


def normalise_torch(x, p_low=P_LOW, p_high=P_HIGH):
    """Same as normalise() for a torch tensor (used on synthetic volumes)."""
    flat = x.reshape(-1)
    if flat.numel() > 100_000:  # a strided subsample: same percentiles up to ~0.1 %, much faster
        flat = flat[::flat.numel() // 100_000]
    q = torch.quantile(flat, torch.tensor([p_low / 100, p_high / 100], dtype=x.dtype))
    lo, hi = float(q[0]), float(q[1])
    x = x.clamp(lo, hi)
    return (x - lo) / (hi - lo) if hi > lo else x - lo


def preprocess(img):
    """nibabel image -> (model input [1, 1, S, S, S] float32 tensor, conformed affine)."""
    data = np.asanyarray(img.dataobj).astype(np.float32)
    if data.ndim == 4:
        data = data[..., 0]
    aff = conform_affine(img.affine, data.shape)
    conf = resample(data, img.affine, aff, (SIZE,) * 3, 'bilinear', 0.0)
    return torch.from_numpy(normalise(conf))[None, None], aff


def labels_from_probabilities(probs, model_affine, ref_img, refine=None):
    """Model-grid probabilities [K, S, S, S] -> labels on the input's grid: each channel trilinearly
    (outside the model grid 0, so channel 0 = background wins there), then argmax (first maximum wins).
    refine: channel indices (e.g. [1, 2, 3]) whose split is refitted to ref_img's intensities, as the
    bundle's output.refinement does in the app (refine_by_intensity)."""
    shape = ref_img.shape[:3]
    q = np.stack([resample(p, model_affine, ref_img.affine, shape, 'bilinear', 0.0) for p in probs])
    labels = q.argmax(0).astype(np.uint8)
    if refine:
        image = np.asanyarray(ref_img.dataobj).astype(np.float32)
        labels = refine_by_intensity(labels, q, image[..., 0] if image.ndim == 4 else image, list(refine))
    return labels


FIT_SAMPLE = 1 << 18


def refine_by_intensity(labels, q, image, classes, min_probability=0.01, max_iterations=50, tolerance=1e-5):
    """The app's intensity refinement (src/engine/labelmap/intensity-refinement.ts) in numpy: one
    Gaussian per refined class fitted by EM with the probabilities as per-voxel priors (voxels weighted
    by their refined mass; fit on an even stride of at most FIT_SAMPLE kept voxels, in the app's voxel
    order, i fastest); voxels labelled with a refined class get the refined class of highest posterior.
    labels [X, Y, Z] and q [K, X, Y, Z] on the image's grid. Returns new labels."""
    flat_q = q.reshape(len(q), -1, order='F')  # the app's voxel order: i fastest
    x_all = image.reshape(-1, order='F').astype(np.float64)
    mass_all = flat_q[classes].sum(0).astype(np.float64)
    kept = np.nonzero(mass_all >= min_probability)[0]
    x, mass = x_all[kept], mass_all[kept]
    P = flat_q[classes][:, kept].astype(np.float64)
    ok = (mass > 0) & ~np.isnan(x)
    prior = np.where(ok, P / np.where(ok, mass, 1), 0)
    lo, hi = x[ok].min(), x[ok].max()
    sd_floor = 1e-3 * (hi - lo) if hi > lo else 1.0
    stride = max(1, -(-len(x) // FIT_SAMPLE))
    s = np.arange(0, len(x), stride)
    s = s[ok[s]]
    xs, ws, ps = x[s], mass[s], prior[:, s]

    def estimate(r):
        w = ws * r
        sw = w.sum(1)
        mu = (w * xs).sum(1) / sw
        sd = np.maximum(np.sqrt((w * (xs - mu[:, None]) ** 2).sum(1) / sw), sd_floor)
        return mu, sd

    mu, sd = estimate(ps)
    previous = np.nan
    for _ in range(max_iterations):
        with np.errstate(divide='ignore'):
            e = np.log(ps) - 0.5 * ((xs - mu[:, None]) / sd[:, None]) ** 2 - np.log(sd)[:, None]
        m = e.max(0)
        r = np.exp(e - m)
        total = r.sum(0)
        log_l = (ws * (m + np.log(total))).sum()
        mu, sd = estimate(r / total)
        if abs(log_l - previous) <= tolerance * abs(log_l):
            break
        previous = log_l
    post = prior * np.exp(-0.5 * ((x - mu[:, None]) / sd[:, None]) ** 2) / sd[:, None]
    best = np.asarray(classes)[post.argmax(0)]
    out = labels.reshape(-1, order='F').copy()
    relabel = ok & np.isin(out[kept], classes) & (post.sum(0) > 0)
    out[kept[relabel]] = best[relabel]
    return out.reshape(labels.shape, order='F')
