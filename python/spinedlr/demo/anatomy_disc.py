"""Sagittal T2-weighted lumbar phantom around the responsible disc.

Array layout (z, y, x) = (sagittal slices left → right of the midline, rows head → feet,
columns anterior → posterior), like the real sagittal volumes under ``shared/data``; 7 slices
of 4 mm, 96 × 96 pixels of 0.8 mm. Every slice cuts the disc, so 3D radiomics and slice-wise
2D segmentation both see it.

Anatomy, anterior to posterior: prevertebral soft tissue, two vertebral bodies (bright fatty
marrow, dark cortex and endplates, a basivertebral vein, optional Modic change next to the
endplates) with the responsible disc between them (bright nucleus, dark annulus, a posterior
bulge/herniation/prolapse into the canal) and parts of the neighbouring discs at the top and
bottom edges; the posterior longitudinal ligament; the CSF-filled thecal sac with nerve
roots (replaced by foraminal fat in lateral slices); ligamentum flavum, laminae and spinous
processes with fat between them.

The disc latent ``heterogeneity`` (standard normal) sets how patchy the nucleus signal is,
how many dark clefts and annular fissures cross the disc and how granular it looks. Pfirrmann
grade sets only mean nucleus brightness and disc height, so first-order intensity carries the
grade (no outcome signal) while texture carries the latent (the outcome signal).
"""

from __future__ import annotations

import numpy as np

from spinedlr.demo.mr_signal import bias_field, rician
from spinedlr.demo.shapes import grid, smooth_field, soft, superellipse

SHAPE = (7, 96, 96)
SPACING = (0.8, 0.8, 4.0)  # SimpleITK (x, y, z) order: column, row, slice
# Columns run posterior (+y in LPS), rows run inferior (-z), slices run to the left (+x).
DIRECTION = (0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, -1.0, 0.0)

NUCLEUS_T2 = {"III": 0.62, "IV": 0.45, "V": 0.30}
DISC_HEIGHT = {"III": 1.0, "IV": 0.82, "V": 0.62}
HERNIATION = {"bulge": (1.8, 9.0), "herniation": (4.0, 4.5), "prolapse": (6.0, 4.0)}
MODIC_T2 = {"normal": None, "I": 0.85, "II": 0.72, "III": 0.2}


def _segment_distance(yy, xx, p0, p1):
    """Distance (pixels) from each pixel to the line segment p0-p1."""
    (y0, x0), (y1, x1) = (float(c) for c in p0), (float(c) for c in p1)
    vy, vx = y1 - y0, x1 - x0
    t = np.clip(((yy - y0) * vy + (xx - x0) * vx) / (vy * vy + vx * vx + 1e-9), 0, 1)
    return np.hypot(yy - (y0 + t * vy), xx - (x0 + t * vx))


def _disc_texture(rng, disc_shape, center, half_h, half_w, t, z_off):
    """Multiplicative texture inside the disc; amplitude grows with heterogeneity t in (0, 1)."""
    nz = disc_shape[0]
    yy, xx = grid(disc_shape[1:])
    patches = smooth_field(rng, disc_shape, (0.8, 2.2, 3.0))
    grain = smooth_field(rng, disc_shape, (0.3, 0.6, 0.6))
    tex = 1.0 + (0.05 + 0.28 * t) * patches + (0.03 + 0.14 * t) * grain
    # clefts: thin dark lines (intranuclear cleft roughly horizontal, annular fissures radial)
    n_clefts = rng.binomial(8, t)
    for _ in range(n_clefts):
        cy = center[0] + rng.uniform(-0.5, 0.5) * half_h
        cx = center[1] + rng.uniform(-0.7, 0.7) * half_w
        ang = rng.normal(0.0, 0.25) if rng.random() < 0.6 else rng.uniform(-1.4, 1.4)
        length = rng.uniform(0.3, 0.9) * half_w
        p0 = (cy - np.sin(ang) * length / 2, cx - np.cos(ang) * length / 2)
        p1 = (cy + np.sin(ang) * length / 2, cx + np.cos(ang) * length / 2)
        line = soft(_segment_distance(yy, xx, p0, p1) - 0.5, 0.45)
        depth = rng.uniform(0.45, 0.75)
        span = np.exp(-((z_off[:, 0, 0] - rng.uniform(-10, 10)) / rng.uniform(6, 14)) ** 2)
        tex = tex * (1.0 - depth * line[None] * span[:, None, None])
    # high-intensity zone: a bright focus in the posterior annulus, more likely when torn
    if rng.random() < 0.15 + 0.5 * t:
        hz = soft(superellipse(yy, xx, (center[0], center[1] + 0.8 * half_w), (1.2, 1.6)), 0.5)
        tex = tex + 1.2 * hz[None] * np.exp(-((z_off - rng.uniform(-6, 6)) / 6.0) ** 2)
    return np.clip(tex, 0.15, None)


def render_disc(
    rng: np.random.Generator,
    heterogeneity: float,
    pfirrmann: str,
    herniation_type: str,
    modic: str,
) -> tuple[np.ndarray, np.ndarray]:
    """One patient's sagittal volume (float, ~0-1500) and true disc mask (uint8, 1 = disc)."""
    nz, ny, nx = SHAPE
    t = float(1.0 / (1.0 + np.exp(-1.6 * heterogeneity)))
    z_off = ((np.arange(nz, dtype=np.float32) - (nz - 1) / 2) * SPACING[2])[:, None, None]  # mm
    yy, xx = grid((ny, nx))
    yy, xx = yy[None], xx[None]
    lateral = np.sqrt(np.clip(1 - (z_off / 30.0) ** 2, 0.05, 1))  # AP width factor off midline

    # spine frame: lordotic tilt and small shifts per patient
    tilt = rng.normal(0.0, 0.07)
    cy, cx = 47.0 + rng.normal(0, 2), 36.0 + rng.normal(0, 1.5)
    ca, sa = float(np.cos(tilt)), float(np.sin(tilt))
    v = cy + (yy - cy) * ca - (xx - cx) * sa  # rows in the spine's own frame
    u = cx + (yy - cy) * sa + (xx - cx) * ca  # columns in the spine's own frame

    half_w = 22.0 * rng.uniform(0.93, 1.07)
    disc_hh = 6.2 * DISC_HEIGHT[pfirrmann] * rng.uniform(0.9, 1.1)
    body_hh = 16.5 * rng.uniform(0.95, 1.05)
    gap = disc_hh + 0.3

    img = np.full((nz, ny, nx), 0.30, dtype=np.float32)  # prevertebral / paraspinal soft tissue
    img *= 1 + 0.10 * smooth_field(rng, img.shape, (0.7, 3, 3))

    # posterior elements (behind the canal): fat with laminae and spinous processes
    canal_front = cx + half_w * lateral + 2.5
    canal_back = canal_front + 13.0 + rng.normal(0, 1)
    fat = soft(canal_back - u, 0.8)  # region posterior to canal back wall
    img = img * (1 - fat) + fat * 0.78 * (1 + 0.05 * smooth_field(rng, img.shape, (0.7, 1.5, 1.5)))
    for level in (-1, 0, 1):  # spinous processes/laminae at each vertebra
        vc = cy + level * 2 * (body_hh + gap) - 4
        bone = superellipse(v, u, (vc, canal_back + 12), (5.5, 12.0), 2.5, 0.35)
        bone = np.where(np.abs(z_off) < 6, bone, bone + 2.0)
        img = img * (1 - soft(bone)) + soft(bone) * 0.15
        img = img * (1 - soft(bone + 1.3)) + soft(bone + 1.3) * 0.45
    flavum = superellipse(v, u, (cy, canal_back + 1.0), (gap + 3, 1.6))
    img = img * (1 - soft(flavum)) + soft(flavum) * 0.12

    # thecal sac: CSF with nerve roots; lateral slices show foraminal fat instead
    sac = soft(np.maximum(canal_front - u, u - canal_back), 0.6)
    csf_weight = np.exp(-((z_off / 9.0) ** 2))
    roots = sum(
        soft(np.abs(u - (canal_front + f * (canal_back - canal_front))) - 0.5, 0.4)
        for f in (0.45, 0.75)
    ) * (np.abs(z_off) < 3)
    sac_val = csf_weight * (1.05 - 0.45 * roots) + (1 - csf_weight) * 0.7
    img = img * (1 - sac) + sac * sac_val

    # vertebral bodies with cortex, basivertebral vein and optional Modic change
    marrow_tex = 1 + 0.07 * smooth_field(rng, img.shape, (0.6, 1.5, 1.5))
    for level in (-1, 1):
        vc = cy + level * (gap + body_hh)
        d = superellipse(v, u, (vc, cx), (body_hh, half_w * lateral + 0.5), 5.0)
        cortex, marrow = soft(d), soft(d + 1.4)
        img = img * (1 - cortex) + cortex * 0.10
        marrow_val = 0.58 * marrow_tex
        vein = soft(superellipse(v, u, (vc, cx + half_w * 0.8), (1.1, 4.5)), 0.5)
        marrow_val = marrow_val * (1 - 0.7 * vein * (np.abs(z_off) < 5))
        if MODIC_T2[modic] is not None:
            near = soft(np.abs(v - (cy + level * (gap + 1.4 + 3.0))) - 3.0, 1.0)
            marrow_val = marrow_val * (1 - near) + near * MODIC_T2[modic] * marrow_tex
        img = img * (1 - marrow) + marrow * marrow_val
    # neighbouring discs at the top and bottom edges (not part of the ROI)
    for level in (-1, 1):
        vc = cy + level * 2 * (gap + body_hh)
        d = superellipse(v, u, (vc, cx), (disc_hh * 1.05, half_w * lateral), 3.0)
        nuc = superellipse(v, u, (vc, cx + 2), (disc_hh * 0.55, half_w * lateral * 0.6))
        img = img * (1 - soft(d)) + soft(d) * (0.22 + 0.5 * soft(nuc, 1.5))

    # the responsible disc: annulus, nucleus, posterior herniation
    disc_d = superellipse(v, u, (cy, cx), (disc_hh, half_w * lateral + 1.0), 4.0)
    h_size, h_half = HERNIATION[herniation_type]
    h_size *= rng.uniform(0.8, 1.2)
    h_drop = 0.0 if herniation_type != "prolapse" else rng.choice([-1, 1]) * 3.0
    hern_d = superellipse(v, u, (cy + h_drop, cx + half_w * lateral + 0.5), (h_half, h_size + 0.5), 2.0)
    hern_d = np.where(np.abs(z_off) < 8 + 6 * (h_half > 5), hern_d, hern_d + 3)
    disc_d = np.minimum(disc_d, hern_d)
    nuc_d = superellipse(v, u, (cy, cx + 2.0), (disc_hh * 0.8, half_w * lateral * 0.66), 2.4)
    nucleus = soft(nuc_d, 1.2)
    disc_val = 0.24 + (NUCLEUS_T2[pfirrmann] - 0.24) * nucleus
    disc_val = disc_val * _disc_texture(rng, img.shape, (cy, cx), disc_hh, half_w, t, z_off)
    # the disc texture is anchored to the untilted frame's centre; small tilts keep it inside
    disc = soft(disc_d)
    img = img * (1 - disc) + disc * disc_val
    # posterior longitudinal ligament: dark line over the back of bodies and disc
    pll = soft(np.abs(u - canal_front + 0.8) - 0.6, 0.5) * soft(np.abs(v - cy) - 3 * body_hh)
    img = img * (1 - 0.6 * pll * (1 - soft(hern_d)))

    img = 1000.0 * img * bias_field(rng, img.shape, coil_axis=2)
    img = rician(rng, img, sigma=rng.uniform(14.0, 22.0))
    mask = (disc_d < 0).astype(np.uint8)
    return img, mask
