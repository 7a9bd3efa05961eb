# spinedlr — `make report` (the demo study end to end) and `make test`.
SHELL := /bin/bash
export R_LIBS := $(CURDIR)/.Rlib
export PYTHONUNBUFFERED := 1
VENV := .venv/bin
STUDY ?=
DEMO_DIR ?= out/demo
R_SOURCES := $(shell find R -type f -not -path '*/tests/*' 2>/dev/null)

.PHONY: setup test test-py test-r check-r document report demo bench clean
setup: .setup.stamp

.setup.stamp: pyproject.toml scripts/setup.sh $(R_SOURCES)
	bash scripts/setup.sh
	touch $@

test: setup test-r check-r test-py

test-py:
	$(VENV)/python -m pytest tests -p no:cacheprovider

test-r:
	Rscript scripts/test_r.R

# R CMD check --as-cran of the R package, offline, without the PDF manual (scripts/check_r.sh).
check-r:
	bash scripts/check_r.sh

# Rewrite R/man/*.Rd and R/NAMESPACE from the roxygen2 comments in R/R/.
document:
	Rscript -e 'roxygen2::roxygenise("R", load_code = "source")'

demo: setup
	$(VENV)/spinedlr demo $(DEMO_DIR)

report: setup
ifeq ($(STUDY),)
	$(VENV)/spinedlr demo $(DEMO_DIR) --skip-existing
	$(VENV)/spinedlr run $(DEMO_DIR)/study.yaml --report
else
	$(VENV)/spinedlr run $(STUDY) --report
endif

bench: setup
	$(VENV)/python -m bench.run_all

clean:
	rm -rf out .pytest_cache
