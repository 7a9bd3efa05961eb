"""Prediction: a volume in, a label volume out in exactly the input's geometry.

Slices are fitted to the network input the same way as in training, the logits are resized
back to each slice's own size *before* the argmax (smoother edges than resizing labels), and
the class indices are mapped back to the configured label values.
"""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk
import torch
from torch import Tensor

from spinedlr.segment.data import fit, slices, unfit
from spinedlr.segment.model import UCTransNet
from spinedlr.segment.numbering import number_by_position
from spinedlr.segment.precision import autocast, resolve_precision
from spinedlr.segment.settings import NumberByPosition
from spinedlr.segment.tiles import canvas_size, sliding_logits


def predict_array(
    model: UCTransNet, meta: dict, image: np.ndarray, batch_size: int = 8, channels_last: bool = True,
    precision: str = "auto",
) -> np.ndarray:
    """Normalised (C, z, y, x) image -> (z, y, x) array of label values (0 = background).

    ``precision`` (see segment.precision) sets the network's arithmetic; the logits are
    resized and compared in fp32. ``channels_last`` converts the model in place (faster
    convolutions on CPU, see SegmentSettings.channels_last).
    """
    axis = int(meta["slice_axis"])
    size = canvas_size(model.config.img_size, float(meta.get("preset", {}).get("zoom", 1.0)))
    device = next(model.parameters()).device
    precision = resolve_precision(precision, device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    sl = torch.from_numpy(np.ascontiguousarray(slices(image, axis)))
    out = []
    model.eval()
    with torch.inference_mode():
        for i in range(0, len(sl), batch_size):
            x, f = fit(sl[i : i + batch_size], size)
            with autocast(precision, device):
                logits: Tensor = sliding_logits(model, x.to(device), channels_last)
            logits = unfit(logits, f)
            if logits.shape[1] == 1:
                cls = (logits[:, 0] > 0).to(torch.uint8)
            else:
                cls = logits.argmax(dim=1).to(torch.uint8)
            out.append(cls.cpu())
    classes = np.moveaxis(torch.cat(out).numpy(), 0, axis)
    lut = np.array([0, *meta["label_values"]], dtype=np.int64)
    dtype = np.uint8 if lut.max() < 256 else np.uint16
    return lut[classes].astype(dtype)


def keep_largest_component(labels: np.ndarray) -> np.ndarray:
    """Per label, keep only the largest 3D connected component (face+edge+corner connected)."""
    out = np.zeros_like(labels)
    for value in np.unique(labels):
        if value == 0:
            continue
        comp = sitk.ConnectedComponent(sitk.GetImageFromArray((labels == value).astype(np.uint8)), True)
        comp = sitk.RelabelComponent(comp, sortByObjectSize=True)
        out[sitk.GetArrayViewFromImage(comp) == 1] = value
    return out


def predict_volume(
    model: UCTransNet,
    meta: dict,
    image: np.ndarray,
    reference: sitk.Image,
    largest_component: bool = True,
    batch_size: int = 8,
    precision: str = "auto",
    channels_last: bool = True,
) -> sitk.Image:
    """Label image with the reference's size, spacing, origin and direction.

    A model trained with ``number_by_position`` predicts one class; its components are
    numbered here (one component per label by construction, so no clean-up is needed).
    """
    labels = predict_array(model, meta, image, batch_size, channels_last, precision)
    if meta.get("number_by_position"):
        order = NumberByPosition(**meta["number_by_position"])
        labels = number_by_position(labels, meta["label_values"], order)
    elif largest_component:
        labels = keep_largest_component(labels)
    out = sitk.GetImageFromArray(labels)
    out.CopyInformation(reference)
    return out
