"""renv.lock must list exactly the R package versions that `make setup` installs.

Why: the lock is what a reviewer or a statistician uses to rebuild the R side with
`renv::restore()`; a lock that drifted from the tested versions, or that names no CRAN-like
repository, is worse than none.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _installed(packages: list[str]) -> dict[str, str]:
    code = (
        "args <- commandArgs(TRUE); for (p in args) cat(p, as.character(packageVersion(p)), '\\n');"
        "cat('R', paste(R.version$major, R.version$minor, sep='.'), '\\n')"
    )
    out = subprocess.run(
        ["Rscript", "-e", code, *packages], capture_output=True, text=True, check=True
    ).stdout
    return dict(line.split()[:2] for line in out.splitlines() if line.strip())


def _normalise(version: str) -> str:
    return re.sub(r"[-_]", ".", version)


def test_lock_matches_installed_r_packages() -> None:
    lock = json.loads((ROOT / "renv.lock").read_text())
    pkgs = lock["Packages"]
    installed = _installed(sorted(pkgs))
    assert installed.pop("R") == lock["R"]["Version"]
    drift = {p: (pkgs[p]["Version"], v) for p, v in installed.items()
             if _normalise(pkgs[p]["Version"]) != _normalise(v)}
    assert not drift, f"renv.lock (locked, installed) differs: {drift}"


def test_lock_covers_every_r_package_the_project_loads() -> None:
    lock = json.loads((ROOT / "renv.lock").read_text())["Packages"]
    desc = (ROOT / "R" / "DESCRIPTION").read_text()
    fields = re.findall(r"^(?:Imports|Suggests|Depends):(.*(?:\n\s+.*)*)", desc, re.M)
    names = {re.sub(r"\(.*?\)", "", n).strip() for f in fields for n in f.split(",")}
    names -= {"", "R", "stats", "utils", "graphics", "grDevices", "methods", "tools"}
    report_pkgs = {"rmarkdown", "knitr", "ggplot2", "jsonlite", "DT", "htmltools"}
    missing = sorted((names | report_pkgs) - set(lock))
    assert not missing, f"R packages used by the project but not in renv.lock: {missing}"


def _setup_r_packages() -> set[str]:
    """The R packages named in scripts/setup.sh's APT_PACKAGES (r-cran-foo -> foo, lower case)."""
    text = (ROOT / "scripts" / "setup.sh").read_text()
    apt = re.search(r"APT_PACKAGES=\((.*?)\)", text, re.S).group(1).split()
    return {p.removeprefix("r-cran-") for p in apt if p.startswith("r-cran-")}


def test_lock_covers_what_make_setup_installs_and_nothing_unused() -> None:
    lock = json.loads((ROOT / "renv.lock").read_text())["Packages"]
    lower = {p.lower() for p in lock}
    assert not _setup_r_packages() - lower, "an r-cran-* package of setup.sh is not in renv.lock"
    assert "glmnet" not in lower and "glmnet" not in _setup_r_packages(), "glmnet is not used"


def test_lock_is_restorable_from_a_cran_snapshot() -> None:
    """A Posit Package Manager snapshot dated after every locked version was published."""
    lock = json.loads((ROOT / "renv.lock").read_text())
    (repo,) = lock["R"]["Repositories"]
    m = re.fullmatch(r"https://packagemanager\.posit\.co/cran/(\d{4}-\d{2}-\d{2})", repo["URL"])
    assert m, repo
    snapshot = dt.date.fromisoformat(m.group(1))
    code = ("for (p in commandArgs(TRUE)) cat(p, substr(packageDescription(p)[['Date/Publication']], 1, 10), '\\n')")
    out = subprocess.run(["Rscript", "-e", code, *sorted(lock["Packages"])], capture_output=True, text=True,
                         check=True).stdout
    published = {p: dt.date.fromisoformat(d) for p, d in (line.split() for line in out.splitlines() if line.strip())}
    assert max(published.values()) < snapshot
    for name, rec in lock["Packages"].items():
        assert rec["Repository"] == repo["Name"] and rec["Source"] == "Repository", name
        assert re.fullmatch(r"[0-9a-f]{32}", rec["Hash"]), name


def test_lock_is_what_the_lock_script_writes() -> None:
    """Hashes, requirements and the snapshot date come from the installed packages."""
    out = subprocess.run(["Rscript", str(ROOT / "scripts" / "renv_lock.R")], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout
    assert json.loads(out) == json.loads((ROOT / "renv.lock").read_text()), \
        "renv.lock is stale: Rscript scripts/renv_lock.R > renv.lock"
