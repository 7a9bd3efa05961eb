"""Write the dcurves known-answer fixture for the R tests (R cannot import Python).

Copies the `df_binary` data shipped inside the Python `dcurves` package and dcurves' own
decision curves on it (thresholds 0.01-0.99) into R/tests/testthat/fixtures/, so that
testthat can check `decision_curve()` against dcurves without Python. Re-run after a
dcurves upgrade:

    .venv/bin/python scripts/make_dcurves_fixture.py
"""

from __future__ import annotations

from pathlib import Path

import dcurves
import pandas as pd

OUT = Path(__file__).resolve().parents[1] / "R" / "tests" / "testthat" / "fixtures"
MODELS = ["cancerpredmarker", "famhistory"]
THRESHOLDS = [round(i / 100, 2) for i in range(1, 100)]


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    df = pd.read_csv(Path(dcurves.data) / "df_binary.csv")
    df["cancer"] = df["cancer"].astype(int)
    df[["patientid", "cancer", *MODELS]].to_csv(OUT / "df_binary.csv", index=False)
    res = dcurves.dca(data=df, outcome="cancer", modelnames=MODELS, thresholds=THRESHOLDS)
    cols = ["model", "threshold", "test_pos_rate", "tp_rate", "fp_rate", "net_benefit", "net_intervention_avoided"]
    res[cols].to_csv(OUT / "dcurves_df_binary.csv", index=False, float_format="%.12g")
    (OUT / "dcurves_version.txt").write_text(f"dcurves {dcurves.__version__}\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
