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


def labels_from_probabilities(probs, model_affine, ref_img, refine=None, **refine_options):
    """Model-grid probabilities [K, S, S, S] -> labels on the input's grid: each channel trilinearly
    (outside the model grid 0, so channel 0 = background wins there), then argmax (first maximum wins).
    refine: channel indices (e.g. [1, 2, 3]) whose split is refitted to ref_img's intensities, as the
    bundle's output.refinement does in the app (refine_by_intensity, with refine_options)."""
    shape = ref_img.shape[:3]
    q = np.stack([resample(p, model_affine, ref_img.affine, shape, 'bilinear', 0.0) for p in probs])
    labels = q.argmax(0).astype(np.uint8)
    if refine:
        image = np.asanyarray(ref_img.dataobj).astype(np.float32)
        labels = refine_by_intensity(labels, q, image[..., 0] if image.ndim == 4 else image, list(refine), **refine_options)
    return labels


FIT_SAMPLE = 1 << 16
BIAS_SAMPLE = 1 << 14  # of those, the bias field's fitting rows


def monomials(order):
    """Exponents (a, b, c) of x^a y^b z^c with a + b + c <= order, in the app's order (1 first)."""
    return [(a, b, c) for a in range(order + 1) for b in range(order + 1 - a) for c in range(order + 1 - a - b)]


def refine_by_intensity(labels, q, image, classes, min_probability=0.01, max_iterations=50, tolerance=1e-5,
                        bias_field_order=2):
    """The app's intensity refinement (src/engine/labelmap/intensity-refinement.ts) in numpy: one
    Gaussian per refined class fitted by EM with the probabilities as per-voxel priors (voxels weighted
    by their refined mass; fit on an even stride of at most FIT_SAMPLE kept voxels, in the app's voxel
    order, i fastest; sd floored at 1e-3 of the sample's 1st-99th percentile range; stop when the
    log-likelihood changes by <= tolerance per unit weight), with a multiplicative bias field
    exp(polynomial of degree bias_field_order in the index position scaled to [-1, 1]) fitted alongside
    (Wells / Van Leemput: log x - log b regressed on the log class means, weights responsibility *
    mu^2 / sd^2; normalised to weighted mean 0 in the log domain). Voxels labelled with a refined class
    get the refined class of highest posterior; classes absent from the fit keep the model's value.
    labels [X, Y, Z] and q [K, X, Y, Z] on the image's grid; `classes` are channel indices, which are
    also the label values for the shipped model (0..3). Returns new labels."""
    shape = image.shape
    classes = list(classes)
    C = len(classes)
    flat_q = q.reshape(len(q), -1, order='F')  # the app's voxel order: i fastest
    x_all = image.reshape(-1, order='F').astype(np.float32).astype(np.float64)
    mass_all = flat_q[classes].astype(np.float64).sum(0)
    kept = np.nonzero(mass_all >= min_probability)[0]
    x, mass = x_all[kept], mass_all[kept]
    P = flat_q[classes][:, kept].astype(np.float64)
    ok = (mass > 0) & np.isfinite(x)
    terms = monomials(bias_field_order)
    idx = [kept % shape[0], (kept // shape[0]) % shape[1], kept // (shape[0] * shape[1])]
    pos = np.stack([(2 * i / (n - 1) - 1) if n > 1 else 0.0 * i for i, n in zip(idx, shape)], 1)
    pos = pos.astype(np.float32).astype(np.float64)  # the app keeps positions as float32

    def basis(ps):
        return np.stack([ps[:, 0] ** a * ps[:, 1] ** b * ps[:, 2] ** c for a, b, c in terms], 1)

    stride = max(1, -(-len(x) // FIT_SAMPLE))
    s = np.arange(0, len(x), stride)
    s = s[ok[s] & ((x[s] > 0) if bias_field_order > 0 else True)]
    if len(s) == 0:
        return labels.copy()
    xr, ws = x[s], mass[s]
    with np.errstate(divide='ignore'):
        lp = np.log(P[:, s] / ws)
    lo, hi = np.percentile(xr, [1, 99])
    sd_floor = 1e-3 * (hi - lo) if hi > lo else 1.0
    sum_w = ws.sum()
    phi = basis(pos[s]) if bias_field_order > 0 else None
    beta = np.zeros(len(terms))
    xc = xr.copy()
    mu, sd, present = np.zeros(C), np.ones(C), np.zeros(C, bool)  # absent classes keep 0 / 1, masked out

    def estimate(r):
        w = ws * r
        sw = w.sum(1)
        present[:] = sw > 0
        m = (w * xc).sum(1) / np.where(present, sw, 1)
        v = (w * (xc - m[:, None]) ** 2).sum(1) / np.where(present, sw, 1)
        mu[present] = m[present]
        sd[present] = np.maximum(np.sqrt(np.maximum(v, 0)), sd_floor)[present]

    estimate(np.exp(lp))
    rows = np.arange(0, len(xr), max(1, -(-len(xr) // BIAS_SAMPLE)))  # the bias field's fitting rows
    previous = np.nan
    for _ in range(max_iterations):
        e = np.where(present[:, None], lp - 0.5 * ((xc - mu[:, None]) / sd[:, None]) ** 2 - np.log(sd)[:, None], -np.inf)
        m = e.max(0)
        live = m > -np.inf
        r = np.where(live, np.exp(e - np.where(live, m, 0)), 0)
        total = np.where(live, r.sum(0), 1)
        log_l = (ws[live] * (m[live] + np.log(total[live]))).sum()
        r = r / total
        estimate(r)
        if bias_field_order > 0:
            om = (ws * r)[:, rows] * np.where(present & (mu > 0), mu ** 2 / sd ** 2, 0)[:, None]
            W = om.sum(0)
            log_mu = np.log(np.where(mu > 0, mu, 1))
            z = np.log(xr[rows]) - (om * log_mu[:, None]).sum(0) / np.where(W > 0, W, 1)
            A = phi[rows].T @ (phi[rows] * W[:, None])
            A += 1e-6 * np.trace(A) / len(A) * np.eye(len(A))
            beta = np.linalg.solve(A, phi[rows].T @ (W * z))
            beta[0] -= (W * (phi[rows] @ beta)).sum() / W.sum()
            xc = xr * np.exp(-(phi @ beta))
        if abs(log_l - previous) <= tolerance * sum_w:
            break
        previous = log_l
    xx = x / np.exp(basis(pos) @ beta) if bias_field_order > 0 else x
    # posterior over the present classes, in the log domain; absent classes keep the model's value
    with np.errstate(divide='ignore', invalid='ignore'):
        e = np.where(present[:, None] & (P > 0),
                     np.log(P) - np.log(sd)[:, None] - 0.5 * ((xx - mu[:, None]) / sd[:, None]) ** 2, -np.inf)
        m_present = (P * present[:, None]).sum(0)
        top = e.max(0)
        post = np.exp(e - np.where(top > -np.inf, top, 0))
        post = post / np.where(top > -np.inf, post.sum(0), 1)
    prob = np.where(present[:, None] & (m_present > 0), m_present * post, P)
    best = np.asarray(classes)[prob.argmax(0)]
    out = labels.reshape(-1, order='F').copy()
    relabel = ok & np.isin(out[kept], classes)
    out[kept[relabel]] = best[relabel]
    return out.reshape(labels.shape, order='F')
