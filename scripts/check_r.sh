#!/usr/bin/env bash
# CRAN-grade check of the R package (`make check-r`, part of `make test`): the Rd files and
# NAMESPACE must be what roxygen2 writes from the comments in R/R/, and
# `R CMD check --as-cran` of the built tarball must end in "Status: OK" -- no ERROR, WARNING
# or NOTE. Runs the examples and the testthat suite.
#
# Offline settings: _R_CHECK_CRAN_INCOMING_REMOTE_=false skips the CRAN incoming checks that
# query CRAN (the local ones still run); _R_CHECK_SYSTEM_CLOCK_=0 skips the check of the
# clock against a time server. The dependency-cycle check cannot read CRAN's index either;
# it prints "unable to access index" and passes. --no-manual skips the PDF manual, which
# needs LaTeX (texlive, about a gigabyte); every Rd file is still parsed, cross-referenced
# and checked against the code and its usage. (R skips the HTML Tidy validation for
# roxygen2-generated Rd files, so HTML Tidy is not needed.)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cp -r R "$work/pkg"
Rscript -e 'roxygen2::roxygenise(commandArgs(TRUE)[1], load_code = "source")' "$work/pkg" >"$work/roxygen.log" 2>&1 \
  || { cat "$work/roxygen.log"; exit 1; }
if ! diff -r R/man "$work/pkg/man" || ! diff R/NAMESPACE "$work/pkg/NAMESPACE"; then
  echo "R/man or R/NAMESPACE differs from the roxygen2 comments: run \`make document\`" >&2
  exit 1
fi

cd "$work"
R CMD build "$root/R" >build.log 2>&1 || { cat build.log; exit 1; }
tarball=$(ls spinedlr_*.tar.gz)
_R_CHECK_CRAN_INCOMING_REMOTE_=false _R_CHECK_SYSTEM_CLOCK_=0 \
  R CMD check --as-cran --no-manual "$tarball" >check.log 2>&1 || true
if ! grep -qx "Status: OK" spinedlr.Rcheck/00check.log; then
  cat check.log
  for f in spinedlr.Rcheck/tests/*.Rout.fail; do [ -e "$f" ] && tail -n 40 "$f"; done
  echo "R CMD check --as-cran: not clean" >&2
  exit 1
fi
grep -E "^\* checking (examples|tests)" check.log || true
echo "R CMD check --as-cran: Status: OK"
