#!/usr/bin/env bash
# One-command setup on a fresh Debian 12 machine: system packages, Python venv, R package.
# Idempotent: each step checks what is already there. Called by `make setup`.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(r-base-core r-base-dev r-cran-proc r-cran-rms r-cran-testthat r-cran-rmarkdown
  r-cran-knitr r-cran-jsonlite r-cran-ggplot2 r-cran-roxygen2 r-cran-brglm2 r-cran-dt r-cran-psych pandoc chromium chromium-driver)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "==> Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "==> Python venv"
  "$PY" -m venv .venv
fi
# torch first, pinned: any other spec may pull a multi-GB CUDA build (DEVELOPERS.md).
.venv/bin/python -c "import torch" 2>/dev/null || .venv/bin/pip install -q torch==2.13.0
echo "==> Python package spinedlr"
.venv/bin/pip install -q --progress-bar off -e '.[dev]'

echo "==> R package spinedlr into .Rlib"
mkdir -p .Rlib
R_LIBS="$PWD/.Rlib" R CMD INSTALL --no-multiarch --library=.Rlib R >/tmp/spinedlr-R-install.log 2>&1 \
  || { cat /tmp/spinedlr-R-install.log; exit 1; }
echo "==> setup done"
