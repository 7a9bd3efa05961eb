"""What the report shows: tables prepared in Python (report.data) and the R helpers' labels."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import yaml

from spinedlr.config import load_study
from spinedlr.manifest import load_manifest
from spinedlr.report.data import (
    adjusted_parameters,
    extraction_summary,
    headline_auc,
    segmentation_summary,
    table3_display,
)
from spinedlr.select.validation import METHOD, METHOD_LEAKY

REPORTS = Path(__file__).resolve().parents[1] / "reports"


def test_extraction_counts_a_feature_per_image_type(tmp_path):
    rows = [{"patient_id": p, "roi": "disc", "rater": "rater1", "image_type": it,
             "feature_class": "firstorder", "feature": f, "value": 1.0}
            for p in ("a", "b") for it in ("original", "wavelet-LLH", "log-sigma-1-0-mm-3D")
            for f in ("Mean", "Median")]
    pl.DataFrame(rows).write_parquet(tmp_path / "radiomics.parquet")
    s = extraction_summary(tmp_path).row(0, named=True)
    assert s["features"] == 6 and s["patients"] == 2


def test_events_per_parameter_counts_dummy_columns(tmp_path):
    n = 40
    levels = {"segment": ["L3/4", "L4/5", "L5/S1"], "occupation": ["office", "laborer", "farmer", "other"]}
    man = pl.DataFrame({
        "patient_id": [f"P{i}" for i in range(n)], "recurrence": [i % 4 == 0 for i in range(n)],
        "age": [float(i) for i in range(n)], "gender": ["f", "m"] * (n // 2),
        "grade": ["III", "IV", "V", "IV"] * (n // 4),
        "segment": [levels["segment"][i % 3] for i in range(n)],
        # 'other' never occurs: a level absent from the data adds no column in R either
        "occupation": [levels["occupation"][i % 3] for i in range(n)],
        "disc_image": "x", "disc_mask_rater1": "x"}).with_columns(pl.col("recurrence").cast(pl.Int64))
    man.write_csv(tmp_path / "manifest.csv")
    cfg = {"comparator": "grade", "rois": [{"name": "disc", "image": "disc_image",
                                            "masks": {"rater1": "disc_mask_rater1"}, "labels": {1: "disc"}}],
           "covariates": [{"name": "age", "type": "continuous"},
                          {"name": "gender", "type": "binary", "levels": ["f", "m"]},
                          {"name": "grade", "type": "ordinal", "levels": ["III", "IV", "V"]},
                          {"name": "segment", "type": "nominal", "levels": levels["segment"]},
                          {"name": "occupation", "type": "nominal", "levels": levels["occupation"]}]}
    (tmp_path / "study.yaml").write_text(yaml.safe_dump(cfg))
    study = load_study(tmp_path / "study.yaml")
    # score 1 + age 1 + gender 1 + grade 1 (rank) + segment 2 + occupation 2 (of 3 present)
    assert adjusted_parameters(study, load_manifest(study)) == 8


def test_headline_puts_validated_beside_apparent():
    t2 = pl.DataFrame({"score": ["radscore_disc", "radscore_disc", "pfirrmann"],
                       "model": ["unadjusted", "adjusted", "unadjusted"],
                       "auc": [0.9, 0.93, 0.5], "auc_lower": [0.85, 0.9, 0.4], "auc_upper": [0.95, 0.96, 0.6]})
    val = pl.DataFrame({"score": ["radscore_disc", "radscore_disc", "radscore_disc"],
                        "model": ["unadjusted", "adjusted", "unadjusted"],
                        "method": [METHOD, METHOD, METHOD_LEAKY], "auc": [0.8, 0.78, 0.88],
                        "auc_lower": [0.7, 0.68, 0.8], "auc_upper": [0.9, 0.88, 0.95],
                        "repeats": [5, 5, 5], "folds": [5, 5, 5]})
    h = headline_auc(t2, val)
    assert h.height == 3
    disc = h.filter((pl.col("score") == "radscore_disc") & (pl.col("model") == "unadjusted")).row(0, named=True)
    assert (disc["apparent"], disc["validated"], disc["validated_lower"]) == (0.9, 0.8, 0.7)
    assert disc["method"].startswith("5 × 5-fold")
    assert h.filter(pl.col("score") == "pfirrmann")["validated"].is_null().all()


def test_table3_names_the_optimism_corrected_rows_and_shows_the_optimism():
    t3 = pl.DataFrame({
        "score": ["s"] * 5, "model": ["unadjusted"] * 5,
        "method": ["apparent", "kfold", "optimism", "optimism", "optimism"],
        "statistic": ["auc", "auc", "auc", "calibration_slope", "calibration_intercept"],
        "estimate": [0.90, 0.88, 0.87, 0.95, -0.02]})
    d = table3_display(t3)
    q = dict(zip(d["statistic"], d["quantity"])) | {"kfold": d["quantity"][1]}
    assert d.filter(pl.col("method") == "optimism")["quantity"].to_list() == [
        "optimism-corrected AUC", "optimism-corrected calibration slope",
        "optimism-corrected calibration intercept"]
    assert q["kfold"] == "AUC of pooled out-of-fold predictions"
    opt = d.filter((pl.col("method") == "optimism") & (pl.col("statistic") == "auc"))["optimism"][0]
    assert opt == pytest.approx(0.03)


def test_segmentation_quality_separates_unseen_patients():
    m = pl.DataFrame({"patient_id": ["a", "b", "c", "d"], "roi": "disc", "label": 1, "label_name": "disc",
                      "dice": [0.9, 0.8, 0.6, 0.7], "hd95_mm": [1.0, 2.0, 5.0, 3.0],
                      "trained_on": [True, True, False, False]})
    s = segmentation_summary(m)
    assert s["patients"].to_list() == ["not trained on", "training set"]
    assert s["dice"].to_list() == pytest.approx([0.65, 0.85])
    assert s["cases"].to_list() == [2, 2]


@pytest.fixture(scope="module")
def helpers():
    from spinedlr.stats.bridge import _r

    _r()
    import rpy2.robjects as ro

    env = ro.r("new.env()")
    ro.r("function(e) { e$study <- list(rois = c('disc', 'muscle'), comparator = NULL); e$data_dir <- tempdir() }")(env)
    for f in ("_helpers.R", "_report_format.R"):
        ro.r("function(f, e) sys.source(f, envir = e)")(str(REPORTS / f), env)
    return ro, env


def test_table_captions_carry_no_renderer_cross_reference_label(helpers):
    # Quarto turns on bookdown-style labels: knitr then prefixes kable captions with
    # "(#tab:<chunk>)", which the renderer numbers "Table 1:" in page order.
    ro, env = helpers
    html = ro.r("""function(e) {
      old <- knitr::opts_knit$get("bookdown.internal.label")
      knitr::opts_knit$set(bookdown.internal.label = TRUE)
      knitr::opts_current$set(label = "provenance")
      on.exit(knitr::opts_knit$set(bookdown.internal.label = old))
      as.character(e$show_table(data.frame(a = 1), "table-provenance", "Provenance"))
    }""")(env)[0]
    assert "<caption>Provenance</caption>" in html
    assert "#tab:" not in html
    assert 'data-quarto-disable-processing="true"' in html


def test_score_labels_come_from_the_study_rois(helpers):
    ro, env = helpers
    lab = list(ro.r("function(e) e$score_label(c('radscore_disc', 'radscore_liver', 'radscore_combined'))")(env))
    assert lab == ["Disc Radscore", "Liver Radscore", "Disc + Muscle"]
