"""Axial T2-weighted phantom of the paraspinal muscles at the level of the responsible disc.

Array layout (z, y, x) = (slices foot → head, rows anterior → posterior, columns patient
right → left), identity direction in SimpleITK's LPS convention, so a plain ``imshow`` shows
the radiological view (patient's left on the image's right); 5 slices of 4 mm, 96 × 96 pixels
of 1.8 mm. The middle slices cut the disc (bright nucleus, dark annulus), the outer ones the
vertebral endplates.

Anatomy: vertebral body/disc with psoas muscles on both sides and the great vessels in front,
the spinal canal (CSF), laminae and the spinous process, multifidus beside the spinous
process, erector spinae lateral to it, quadratus lumborum (unlabelled), the thoracolumbar
fascia and subcutaneous fat whose thickness follows BMI, then air behind the skin.

Mask labels 1-6: multifidus left/right, erector spinae left/right, psoas left/right. The
muscle latent ``fat`` (standard normal) sets the fraction of each muscle replaced by fat,
drawn as bright streaks and patches along the fibres (most in multifidus, least in psoas),
plus slight multifidus atrophy.
"""

from __future__ import annotations

import numpy as np

from spinedlr.config import MUSCLE_LABELS
from spinedlr.demo.mr_signal import bias_field, rician
from spinedlr.demo.shapes import grid, smooth_field, soft, superellipse

SHAPE = (5, 96, 96)
SPACING = (1.8, 1.8, 4.0)
DIRECTION = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)
LABELS = MUSCLE_LABELS
MUSCLE_T2, FAT_T2 = 0.26, 0.88
# share of the fat fraction each muscle gets (multifidus degenerates first, psoas least)
FAT_SHARE = {"multifidus": 1.3, "erector_spinae": 1.0, "psoas": 0.35}


def render_muscle(
    rng: np.random.Generator, fat: float, bmi: float
) -> tuple[np.ndarray, np.ndarray]:
    """One patient's axial volume (float, ~0-1500) and true label map (uint8, labels 1-6)."""
    nz, ny, nx = SHAPE
    yy, xx = grid((ny, nx))
    yy, xx = yy[None], xx[None]
    zc = (np.arange(nz, dtype=np.float32) - (nz - 1) / 2)[:, None, None]  # slices from the disc
    mid = 47.5 + rng.normal(0, 1.0)
    scale = rng.uniform(0.93, 1.07)
    ff = float(1.0 / (1.0 + np.exp(-(-2.0 + 0.9 * fat))))  # overall intramuscular fat fraction

    # body outline: skin behind the paraspinal compartment, fat thickness from BMI
    back = 68.0 + rng.normal(0, 1.0)
    subcut = np.clip(3.0 + 0.9 * (bmi - 18.0), 2.0, 22.0) * rng.uniform(0.85, 1.15)
    skin = superellipse(yy, xx, (18.0, mid), (back + subcut - 18.0, 90.0), 2.4)
    img = np.zeros((nz, ny, nx), dtype=np.float32) + soft(skin, 0.8) * FAT_T2
    img *= 1 + 0.05 * smooth_field(rng, img.shape, (0.8, 2, 2))
    # abdominal/retroperitoneal content in front, quadratus lumborum laterally
    belly = soft(yy - 13.0 - 2 * smooth_field(rng, (1, ny, nx), (0, 4, 6)), 2.0)
    img = img * (1 - belly) + belly * 0.40 * (1 + 0.2 * smooth_field(rng, img.shape, (0.8, 2, 2)))

    labels = np.zeros((nz, ny, nx), dtype=np.uint8)
    dists: dict[int, np.ndarray] = {}  # signed distance of each labelled muscle
    for side, sign in (("left", 1.0), ("right", -1.0)):
        jitter = rng.normal(0, 0.6, 6).tolist()
        ql_centre = (36 + jitter[0], mid + sign * (36 + jitter[1]))  # quadratus lumborum
        ql = superellipse(yy, xx, ql_centre, (5.0, 7.0), 2, sign * 0.5)
        img = img * (1 - soft(ql)) + soft(ql) * MUSCLE_T2
        atrophy = 1.0 - 0.05 * fat
        dists[1 if side == "left" else 2] = superellipse(
            yy, xx, (55.5 + jitter[2], mid + sign * (8.8 + 0.2 * zc)),
            (11.0 * scale, 7.6 * scale * atrophy + 0.15 * zc), 2.6, sign * 0.08,
        )
        dists[3 if side == "left" else 4] = superellipse(
            yy, xx, (52.5 + jitter[3], mid + sign * (25.0 + jitter[4] * 0.5)),
            (11.5 * scale, 10.5 * scale), 2.4, -sign * 0.25,
        )
        dists[5 if side == "left" else 6] = superellipse(
            yy, xx, (24.0 + jitter[5], mid + sign * (22.5 + 0.4 * zc)),
            (8.5 * scale + 0.2 * zc, 7.5 * scale), 2.0, sign * 0.35,
        )
    streaks = smooth_field(rng, img.shape, (0.6, 1.8, 0.8))
    # neighbouring muscles abut: split overlaps where their distances are equal
    full = {k: np.broadcast_to(d, img.shape) for k, d in dists.items()}
    for lab, d in full.items():
        for other, d2 in full.items():
            if other != lab:
                d = np.maximum(d, (d - d2) / 2)
        name = LABELS[lab].rsplit("_", 1)[0]
        inside = d < 0
        frac = min(0.9, ff * FAT_SHARE[name])
        thr = np.quantile(streaks[inside], 1.0 - frac)
        w = 1.0 / (1.0 + np.exp(-(streaks - thr) / 0.25))
        muscle_val = MUSCLE_T2 * (1 + 0.06 * streaks) * (1 - w) + FAT_T2 * w
        occ = soft(d + 0.4)  # a thin fat plane separates neighbouring muscles
        img = img * (1 - occ) + occ * muscle_val
        labels[inside] = lab

    # thoracolumbar fascia: dark line around the paraspinal compartment
    comp = superellipse(yy, xx, (54.0, mid), (14.5 * scale, 34.0 * scale), 3.0)
    fascia = soft(np.abs(comp - 0.6) - 0.4, 0.4) * (1 - soft(yy - 56.0, 2.0))
    img = img * (1 - 0.6 * fascia)

    # vertebral body or disc, canal, posterior elements, great vessels
    body = superellipse(yy, xx, (24.0, mid), (10.5 * scale, 14.0 * scale), 2.3)
    disc_slice = np.abs(zc) <= 1
    nucleus = soft(superellipse(yy, xx, (25.0, mid), (5.5, 8.0)), 1.5)
    body_val = np.where(disc_slice, 0.25 + 0.4 * nucleus, 0.55 * (1 + 0.06 * streaks))
    img = img * (1 - soft(body)) + soft(body) * 0.10
    img = img * (1 - soft(body + 1.2)) + soft(body + 1.2) * body_val
    arch = superellipse(yy, xx, (42.0, mid), (6.5, 9.0), 2.0)
    img = img * (1 - soft(arch)) + soft(arch) * 0.12
    spinous = superellipse(yy, xx, (57.0, mid), (10.5, 1.6), 4.0)
    spinous = spinous + np.float32(0.6) * (np.abs(zc) > 1)  # thinner away from the disc
    img = img * (1 - soft(spinous)) + soft(spinous) * 0.14
    canal = superellipse(yy, xx, (39.5, mid), (4.5, 6.0), 2.0)
    img = img * (1 - soft(canal)) + soft(canal) * 1.0
    for dx, r in ((-5.0, 3.0), (6.0, 2.5)):  # IVC (right) and aorta (left): flow voids
        vessel = superellipse(yy, xx, (9.0, mid + dx), (r, r * 1.1))
        img = img * (1 - soft(vessel)) + soft(vessel) * 0.05

    img = 1000.0 * img * bias_field(rng, img.shape, coil_axis=1)
    img = rician(rng, img, sigma=rng.uniform(14.0, 22.0))
    return img, labels
