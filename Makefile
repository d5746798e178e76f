# The two commands a newcomer needs: `make demo` and `make test`. Both install what they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# mypy cannot follow setuptools' editable-install import hook, so it checks the packages
# through a tree of symlinks laid out under their import names.
TYPECHECK := $(VENV)/typecheck

.PHONY: install receivers test lint format demo bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	mkdir -p $(TYPECHECK)/flowkeeper
	ln -sfn ../../../operator $(TYPECHECK)/flowkeeper/operator
	ln -sfn ../../../backfill $(TYPECHECK)/flowkeeper/backfill
	touch $@

# Best effort for newcomers: without the receivers their tests are skipped (CI requires them).
receivers:
	-e2e/install-receivers.sh

test: install receivers
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	cd $(TYPECHECK) && ../bin/mypy --config-file ../../pyproject.toml -p flowkeeper
	$(BIN)/hadolint Dockerfile

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

demo: install receivers
	$(BIN)/python -m e2e.demo

bench: install
	$(BIN)/python bench/backfill_memory.py
	$(BIN)/python bench/operator_calls.py
	$(BIN)/python bench/operator_takeover.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .demo
