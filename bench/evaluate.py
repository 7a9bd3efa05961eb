"""Benchmark: the whole evaluate stage on a 170-patient synthetic study at full settings.

Full settings = the reference study's: unadjusted and adjusted models for three Radscores
and the Pfirrmann comparator, LOOCV, 10-fold, 1,000 bootstraps, pAUC bootstrap 2,000,
calibration B = 1,000, DCA, clinical impact, interaction. Target: under 60 s. Also times
the fast exact algorithms against the pROC / rms calls they replace inside resampling loops.

    python -m bench.evaluate   ->  bench/results/evaluate.json
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("R_LIBS", str(Path(__file__).resolve().parents[1] / ".Rlib"))

RESULTS = Path(__file__).resolve().parent / "results" / "evaluate.json"


def _r_comparisons() -> dict[str, float]:
    """Seconds for the fast paths vs pROC/rms on the same data (R side, no Python overhead)."""
    import rpy2.robjects as ro
    from rpy2.robjects.packages import importr

    importr("spinedlr")
    timing = ro.r(
        """
        function() {
          set.seed(1); n <- 170; y <- rbinom(n, 1, 0.23); x <- rnorm(n) + 1.5 * y
          X <- data.frame(y = y, x = x, matrix(rnorm(n * 20), n))
          t <- function(e) unname(system.time(e)[["elapsed"]])
          f <- rms::lrm(stats::reformulate(names(X)[-1], "y"), data = X, x = TRUE, y = TRUE)
          c(fast_auc_x2000 = t(for (i in 1:2000) spinedlr::fast_auc(y, x)),
            proc_auc_x2000 = t(for (i in 1:2000) pROC::auc(pROC::roc(y, x, levels = c(0, 1), direction = "<", quiet = TRUE))),
            fast_pauc_x2000 = t(for (i in 1:2000) spinedlr::fast_partial_auc(y, x)),
            proc_pauc_x2000 = t(for (i in 1:2000) pROC::auc(pROC::roc(y, x, levels = c(0, 1), direction = "<", quiet = TRUE), partial.auc = c(1, 0.8))),
            spinedlr_calibration_B1000 = t(spinedlr::calibration(X, "y", "x", names(X)[3:22], B = 1000, seed = 1)),
            rms_calibrate_B1000_adjusted_only = t(utils::capture.output(rms::calibrate(f, B = 1000))),
            spinedlr_validate_B1000 = t(spinedlr::validate_model(X, "y", "x", names(X)[3:22], loocv = FALSE, k = 0, boot_n = 1000, seed = 1)),
            rms_validate_B1000_adjusted_only = t(rms::validate(f, B = 1000)))
        }
        """
    )()
    return {k: round(float(v), 3) for k, v in zip(timing.names, timing)}


def main() -> None:
    from spinedlr.config import load_study
    from spinedlr.evaluate.stage import compute, run
    from spinedlr.evaluate.synthetic import write_synthetic_study

    with tempfile.TemporaryDirectory() as tmp:
        study = load_study(write_synthetic_study(Path(tmp), n=170, events=39, seed=0))
        t0 = time.perf_counter()
        compute(load_study(write_synthetic_study(Path(tmp) / "warm", n=170, events=39, seed=1,
                                                 evaluate={"boot_n": 10, "pauc_boot_n": 10, "calibration_b": 10, "folds": 3})))
        start_r = time.perf_counter() - t0
        steps: dict[str, float] = {}
        last = [time.perf_counter()]

        def mark(what: str) -> None:
            now = time.perf_counter()
            steps[what] = now
            last[0] = now

        t0 = time.perf_counter()
        compute(study, progress=mark)
        total_compute = time.perf_counter() - t0
        names = list(steps)
        step_s = {a: round(steps[b] - steps[a], 2) for a, b in zip(names, names[1:])}
        step_s[names[-1]] = round(t0 + total_compute - steps[names[-1]], 2)
        t0 = time.perf_counter()
        run(study)
        total_run = time.perf_counter() - t0
    result = {
        "patients": 170,
        "events": 39,
        "settings": study.config.evaluate.model_dump(exclude={"thresholds"}),
        "r_start_and_warm_up_s": round(start_r, 2),
        "evaluate_compute_s": round(total_compute, 2),
        "evaluate_run_s_incl_writing": round(total_run, 2),
        "target_s": 60,
        "steps_s": step_s,
        "fast_vs_reference_s": _r_comparisons(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end",
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
