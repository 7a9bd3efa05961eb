"""One entry point for every demo design: `spinedlr demo OUT --design NAME`.

Why a dispatch table: each design (the reference study, Fan et al. 2024's two centres with an
external cohort, Zou et al. 2025's three centres with CT + MRI) has its own cohort sizes and
layout, while the command line, the seed and the "a finished demo has truth.parquet"
convention stay the same for all of them.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path

from spinedlr.errors import InputError


class Design(str, Enum):
    reference = "reference"
    fan2024 = "fan2024"
    zou2025 = "zou2025"


def write_demo(design: Design, out: Path, n: int | None = None, events: int | None = None,
               seed: int = 0) -> None:
    """Write ``design``'s synthetic study into ``out``; ``None`` sizes take its defaults.

    ``events`` applies to the reference design only: the other designs fix each centre's
    event rate at the paper's, which is part of the case mix they reproduce.
    """
    design = Design(design)
    sizes = {k: v for k, v in (("n", n), ("events", events)) if v is not None}
    if design is Design.reference:
        from spinedlr.demo.generate import write_demo_study

        write_demo_study(out, seed=seed, **sizes)
        return
    if "events" in sizes:
        raise InputError(f"--events applies to the reference design; {design.value} draws "
                         "each centre's events at the paper's rate")
    if design is Design.fan2024:
        from spinedlr.demo.fan2024 import write_fan2024

        write_fan2024(out, seed=seed, **sizes)
    else:
        from spinedlr.demo.zou2025 import write_zou2025

        write_zou2025(out, seed=seed, **sizes)
