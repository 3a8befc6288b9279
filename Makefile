# The two quick-start commands: `make demo` and `make test`. Both build .venv on first use.
VENV ?= .venv
BIN := $(VENV)/bin
EXTRAS ?= dev

$(BIN)/.installed-$(EXTRAS): pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[$(EXTRAS)]"
	touch $@

.PHONY: install demo test lint bench-smoke
install: $(BIN)/.installed-$(EXTRAS)

demo: install  ## link the synthetic demo data, load the SQLite store, serve API + review page
	$(BIN)/studentlink demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

test: lint  ## lint, type-check and run the whole test suite
	PYSPARK_PYTHON=$(abspath $(BIN)/python) $(BIN)/pytest

bench-smoke: install
	$(BIN)/studentlink bench --suite smoke --out bench-out/smoke
