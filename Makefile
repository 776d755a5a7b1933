# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Wheels of everything a user's install needs (the runtime dependencies, and pytest for the pytest
# plugin), so tests/test_packaging.py can install druid-sim's wheel into a fresh venv without the network.
WHEELHOUSE := $(VENV)/wheelhouse
HOST ?= 127.0.0.1
PORT ?= 8888

.PHONY: install run test lint typecheck unit bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,record]'
	rm -rf $(WHEELHOUSE)
	$(BIN)/python -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"], sep="\n")' \
		> $(VENV)/runtime-requirements.txt
	$(BIN)/python -m pip wheel --quiet --wheel-dir $(WHEELHOUSE) -r $(VENV)/runtime-requirements.txt 'pytest>=8,<10'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/druid-sim serve --scenario demo --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info build dist
