# The two commands of the README:
#   make demo   set up, generate demo data if none is given, build everything on DuckDB, show results
#   make test   set up and run every test
# Both create .venv on first use; nothing outside the repository is installed.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/sqlrec demo $(ARGS)

test: $(STAMP)
	$(BIN)/ruff check python bench
	$(BIN)/python -m pytest $(ARGS)

clean:
	rm -rf data target logs reports
