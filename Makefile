# The two commands of the README:
#   make demo   set up, generate demo data if none is given, build everything on DuckDB, show results
#   make test   set up and run every test
# Both create .venv on first use. Python packages go only there; the local Trino server the
# tests start is downloaded once into ~/.cache/sqlrec (see python/sqlrec/trino_local/), and so
# is Debian's prometheus package where no prometheus is on PATH (python/tests/prometheus_local.py).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,kubeflow]'
	# MovieLens-100k for the evaluation comes inside the recbole wheel; --no-deps keeps torch out
	# (recbole is never imported, and its data is never committed: its licence forbids it).
	$(BIN)/pip install --quiet --no-deps recbole==1.2.1
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/sqlrec demo $(ARGS)

test: $(STAMP)
	$(BIN)/ruff check python bench
	$(BIN)/python -m pytest -n auto --dist loadgroup $(ARGS)

clean:
	rm -rf data target logs reports local_outputs
