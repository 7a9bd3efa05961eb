"""Unit of analysis: keys identify rows once, the patient is the group."""

import polars as pl
import pytest

from spinedlr.design.settings import UnitSettings
from spinedlr.design.units import check_units, patient_groups, unit_keys
from spinedlr.errors import ManifestError

DISCS = pl.DataFrame({"patient_id": ["p2", "p2", "p1", "p3", "p1"],
                      "ivd_label": ["L4", "L5", "L4", "L4", "L5"]})
SEVERAL = UnitSettings(rows_per_patient="several", keys=["patient_id", "ivd_label"])


def test_patient_groups_one_code_per_patient():
    assert patient_groups(DISCS, "patient_id").tolist() == [0, 0, 1, 2, 1]


def test_unit_keys_put_the_patient_first():
    assert unit_keys(UnitSettings(), "pid") == ["pid"]
    assert unit_keys(UnitSettings(rows_per_patient="several", keys=["ivd", "pid"]), "pid") == ["pid", "ivd"]


def test_several_rows_per_patient_pass_with_keys():
    check_units(DISCS, SEVERAL, "patient_id")


def test_several_rows_refused_when_one_row_per_patient_is_configured():
    with pytest.raises(ManifestError, match="several rows.*rows_per_patient: several"):
        check_units(DISCS, UnitSettings(), "patient_id")


def test_duplicate_units_missing_keys_and_missing_columns_are_errors():
    dup = pl.concat([DISCS, DISCS.head(1)])
    with pytest.raises(ManifestError, match="patient_id=p2, ivd_label=L4: 2"):
        check_units(dup, SEVERAL, "patient_id")
    with pytest.raises(ManifestError, match="'ivd_label' is empty in 1 row"):
        check_units(DISCS.with_columns(pl.when(pl.int_range(5) == 0).then(None)
                                       .otherwise(pl.col("ivd_label")).alias("ivd_label")),
                    SEVERAL, "patient_id")
    with pytest.raises(ManifestError, match=r"\['ivd_label'\] are not in the manifest"):
        check_units(DISCS.drop("ivd_label"), SEVERAL, "patient_id")
