"""Deep-feature throughput: ROIs per second through `run_deep` at both segment presets.

15 real disc ROIs (3 cases x 5 discs, one rater, largest-area slice, selection off), the real
UCTransNet from the segment stage with random weights (speed does not depend on the weights):
``cpu`` preset (base_channel 16, 128 px) and ``paper`` preset (base_channel 64, 224 px).
Times include reading the volumes and cropping. Needs `spinedlr.segment.model` (segment branch).

Run: `python -m bench.extract_deep` -> bench/results/extract_deep.json
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from extract_helpers import HAVE_DISCS, disc_study  # noqa: E402

from spinedlr.config import load_study  # noqa: E402
from spinedlr.extract.deep_stage import run_deep  # noqa: E402

PRESETS = {"cpu": (16, 128), "paper": (64, 224)}


def main() -> None:
    from spinedlr.segment.model import ModelConfig, UCTransNet

    if not HAVE_DISCS:
        raise SystemExit("needs ../shared/data/spine_mri/discs")
    results = {}
    for name, (base, size) in PRESETS.items():
        torch.manual_seed(0)
        model = UCTransNet(ModelConfig(base_channel=base, img_size=size)).eval()
        meta = {"model_config": model.config.model_dump()}
        with tempfile.TemporaryDirectory() as tmp:
            path = disc_study(Path(tmp), cases=("case11", "case20", "case25"),
                              extract={"deep_selection": {"enabled": False}})
            summary = run_deep(load_study(path), loader=lambda _p: (model, meta),
                               show_progress=False)
        results[name] = {"base_channel": base, "img_size": size, "features": 8 * base,
                         "rois": summary.n_rois, "seconds": round(summary.seconds, 2),
                         "rois_per_second": round(summary.rois_per_second, 2)}
    out = {"what": "run_deep on 15 disc ROIs (largest slice, 1 rater), random-weight UCTransNet",
           "presets": results, "torch_threads": torch.get_num_threads(),
           "load_avg_at_end": os.getloadavg(),
           "note": "CPU shared with other jobs while measured; see load_avg_at_end"}
    (REPO / "bench" / "results" / "extract_deep.json").write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
