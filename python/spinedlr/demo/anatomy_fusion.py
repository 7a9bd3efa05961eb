"""Sagittal phantom of a lumbar fusion level seen by CT (Hounsfield units) and by T1/T2 MRI.

One patient's anatomy (:class:`Level`: position, tilt, vertebral-body and disc sizes) is
drawn once and rendered on two grids with the reference disc phantom's orientation
(:mod:`anatomy_disc`): MRI with 7 sagittal slices of 4 mm and CT with 9 of 2.5 mm, both
96 × 96 pixels of 0.8 mm around the same centre, so the structures agree between modalities
as after registration. Anatomy: two vertebral bodies (cortex, trabecular bone or marrow)
with the disc between them, the neighbouring discs at the edges, the spinal canal and the
posterior fat, prevertebral soft tissue.

Latents (standard normal) and what they change:

* ``bone_density``: trabecular attenuation on CT (about 140 + 45·b HU: near 180 HU in the
  denser half of patients and 120 HU in the other, around the 110-135 HU thresholds of
  opportunistic osteoporosis screening on CT) and, inversely, marrow fat (brighter T1,
  slightly brighter T2);
* ``marrow_heterogeneity``: how patchy and coarse the vertebral marrow is (focal fatty
  deposits on T1/T2, coarse trabeculae on CT) — texture, not mean intensity;
* ``disc_degeneration``: disc height and nucleus T2 signal (and a little disc attenuation).

Label map: 1 = upper vertebral body, 2 = lower vertebral body, 3 = disc.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spinedlr.demo.mr_signal import bias_field, rician
from spinedlr.demo.shapes import grid, smooth_field, soft, superellipse

MR_SHAPE, MR_SPACING = (7, 96, 96), (0.8, 0.8, 4.0)
CT_SHAPE, CT_SPACING = (9, 96, 96), (0.8, 0.8, 2.5)
UPPER, LOWER, DISC = 1, 2, 3

# tissue -> (CT HU, T1, T2); relative MR signal (x 1000 before noise) as in anatomy_disc
TISSUE = {
    "soft": (40.0, 0.32, 0.28), "fat": (-95.0, 0.90, 0.78), "cortex": (750.0, 0.08, 0.10),
    "csf": (8.0, 0.12, 1.05), "annulus": (80.0, 0.30, 0.22), "nucleus": (95.0, 0.32, 0.62),
}


@dataclass(frozen=True)
class Level:
    """One patient's fusion level in the in-plane pixel frame shared by CT and MR."""

    cy: float
    cx: float
    tilt: float
    half_w: float
    body_hh: float
    disc_hh: float
    canal: float


def draw_level(rng: np.random.Generator, disc_degeneration: float) -> Level:
    """Position, lordotic tilt and sizes; degenerated discs are lower."""
    height = 6.2 * float(np.clip(1.0 - 0.15 * disc_degeneration, 0.55, 1.25))
    return Level(
        cy=47.0 + rng.normal(0, 2), cx=36.0 + rng.normal(0, 1.5), tilt=rng.normal(0.0, 0.07),
        half_w=22.0 * rng.uniform(0.93, 1.07), body_hh=16.5 * rng.uniform(0.95, 1.05),
        disc_hh=height * rng.uniform(0.92, 1.08), canal=13.0 + rng.normal(0, 1),
    )


def _distances(lv: Level, shape: tuple[int, int, int], dz: float) -> dict[str, np.ndarray]:
    """Signed distances (pixels, negative inside) of every structure on one grid."""
    nz, ny, nx = shape
    z_off = ((np.arange(nz, dtype=np.float32) - (nz - 1) / 2) * dz)[:, None, None]
    yy, xx = (g[None] for g in grid((ny, nx)))
    lateral = np.sqrt(np.clip(1 - (z_off / 30.0) ** 2, 0.05, 1))
    ca, sa = float(np.cos(lv.tilt)), float(np.sin(lv.tilt))
    v = lv.cy + (yy - lv.cy) * ca - (xx - lv.cx) * sa
    u = lv.cx + (yy - lv.cy) * sa + (xx - lv.cx) * ca
    gap = lv.disc_hh + 0.3
    width = lv.half_w * lateral
    d = {}
    for name, level in (("upper", -1), ("lower", 1)):
        d[name] = superellipse(v, u, (lv.cy + level * (gap + lv.body_hh), lv.cx),
                               (lv.body_hh, width + 0.5), 5.0)
    d["disc"] = superellipse(v, u, (lv.cy, lv.cx), (lv.disc_hh, width + 1.0), 4.0)
    d["nucleus"] = superellipse(v, u, (lv.cy, lv.cx + 2.0), (lv.disc_hh * 0.75, width * 0.62))
    d["neighbours"] = np.minimum(*(
        superellipse(v, u, (lv.cy + s * 2 * (gap + lv.body_hh), lv.cx), (lv.disc_hh, width), 3.0)
        for s in (-1, 1)))
    front = lv.cx + width + 2.5
    canal = np.maximum(front - u, u - (front + lv.canal))
    d["canal"] = np.where(np.abs(z_off) < 10, canal, canal + 4.0)  # foramina laterally
    d["posterior"] = front + lv.canal - u
    return d


def _layer(img: np.ndarray, d: np.ndarray, value: float | np.ndarray) -> np.ndarray:
    occ = soft(d)
    return img * (1 - occ) + occ * value


def _labels(d: dict[str, np.ndarray]) -> np.ndarray:
    labels = np.zeros(d["disc"].shape, dtype=np.uint8)
    labels[d["upper"] < 0] = UPPER
    labels[d["lower"] < 0] = LOWER
    labels[(d["disc"] < 0) & (labels == 0)] = DISC
    return labels


def _render(d: dict[str, np.ndarray], col: int, marrow: np.ndarray, disc_scale: float,
            base: np.ndarray) -> np.ndarray:
    """Layer the tissues of one modality (``col`` of :data:`TISSUE`) over ``base``."""
    val = {k: v[col] for k, v in TISSUE.items()}
    img = _layer(base, d["posterior"], val["fat"])
    img = _layer(img, d["canal"], val["csf"])
    for name in ("upper", "lower"):
        img = _layer(img, d[name], val["cortex"])
        img = _layer(img, d[name] + 1.4, marrow)
    nucleus = soft(d["nucleus"], 1.2)
    disc_val = val["annulus"] + (val["nucleus"] * disc_scale - val["annulus"]) * nucleus
    img = _layer(img, d["neighbours"], val["annulus"])
    return _layer(img, d["disc"], disc_val)


def render_ct(
    rng: np.random.Generator, lv: Level, bone_density: float, heterogeneity: float,
    degeneration: float, offset: float = 0.0, noise: float = 18.0,
) -> tuple[np.ndarray, np.ndarray]:
    """CT volume in HU (float) and true label map; ``offset``/``noise``: the scanner's."""
    d = _distances(lv, CT_SHAPE, CT_SPACING[2])
    t = float(1.0 / (1.0 + np.exp(-1.6 * heterogeneity)))
    trabecular = 140.0 + 45.0 * bone_density
    grain = smooth_field(rng, CT_SHAPE, (0.4, 0.7 + 0.8 * t, 0.7 + 0.8 * t))
    marrow = trabecular + (18.0 + 30.0 * t) * grain
    base = np.where(smooth_field(rng, CT_SHAPE, (0.7, 4, 4)) > 0.8, TISSUE["fat"][0],
                    TISSUE["soft"][0]).astype(np.float32)
    img = _render(d, 0, marrow, 1.0 - 0.05 * degeneration, base)
    img = img + offset + noise * rng.standard_normal(img.shape, dtype=np.float32)
    return img, _labels(d)


def render_mr(
    rng: np.random.Generator, lv: Level, bone_density: float, heterogeneity: float,
    degeneration: float, gain: float = 1.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """T1 and T2 volumes (float, ~0-1500, same coil and noise draw per sequence) and labels.

    Low bone density means fattier marrow: brighter on T1 (strongly) and T2 (weakly).
    """
    d = _distances(lv, MR_SHAPE, MR_SPACING[2])
    t = float(1.0 / (1.0 + np.exp(-1.6 * heterogeneity)))
    patches = smooth_field(rng, MR_SHAPE, (0.8, 2.5, 2.5))
    grain = smooth_field(rng, MR_SHAPE, (0.3, 0.7, 0.7))
    texture = 1.0 + (0.04 + 0.22 * t) * patches + (0.03 + 0.08 * t) * grain
    base = 1 + 0.10 * smooth_field(rng, MR_SHAPE, (0.7, 3, 3))
    nucleus = float(np.clip(1.0 - 0.25 * degeneration, 0.35, 1.4))
    out = []
    for col, fat_shift in ((1, 0.08), (2, 0.03)):
        marrow = (0.55 - fat_shift * bone_density) * texture
        img = _render(d, col, marrow, nucleus, TISSUE["soft"][col] * base)
        img = 1000.0 * gain * img * bias_field(rng, MR_SHAPE, coil_axis=2)
        out.append(rician(rng, img, sigma=rng.uniform(14.0, 22.0)))
    return out[0], out[1], _labels(d)


def to_hu_int16(image: np.ndarray) -> np.ndarray:
    """Round to int16 within the CT scanner's range (-1024 to 3071 HU)."""
    return np.clip(np.rint(image), -1024, 3071).astype(np.int16)
