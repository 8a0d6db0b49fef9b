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
# one xdist worker more than cores: tests spend part of their time waiting on servers (Trino, the
# service, Prometheus, locust); on 2 cores: 21 min with 2 workers, 16 and 20 min with 3
WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))

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
	$(BIN)/python -m pytest -n $(WORKERS) --dist loadgroup $(ARGS)

clean:
	rm -rf data target logs reports local_outputs
