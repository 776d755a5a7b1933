# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Wheels of everything a user's install needs (the runtime dependencies, the `record` extra, and pytest
# for the pytest plugin), so tests/test_packaging.py can install druid-sim's wheel into a fresh venv,
# and then its recorder, without the network.
WHEELHOUSE := $(VENV)/wheelhouse
HOST ?= 127.0.0.1
PORT ?= 8888

.PHONY: install run test lint typecheck unit chromium postgresql screenshots cassettes bench fuzz soak mutate clean

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,record,browser,postgresql]'
	rm -rf $(WHEELHOUSE)
	$(BIN)/python -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; \
		print(*p["dependencies"], *p["optional-dependencies"]["record"], sep="\n")' > $(VENV)/runtime-requirements.txt
	$(BIN)/python -m pip wheel --quiet --wheel-dir $(WHEELHOUSE) -r $(VENV)/runtime-requirements.txt 'pytest>=8,<10'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/druid-sim serve --scenario demo --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy

# One pytest worker per CPU (pytest-xdist), each test file kept on one worker so its module-scoped servers and
# browser are started once: the suite is mostly servers and subprocesses waiting on each other, so two
# workers on two cores take ~2 minutes where one takes ~3.5.
unit: $(STAMP) chromium postgresql
	$(BIN)/pytest -n auto --dist loadfile

# The dashboard's browser tests drive Debian's Chromium. Installed here when it is missing and apt-get can
# be used as root; otherwise (or when the install fails) those tests skip and say why. Never fails the build.
chromium:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || [ -n "$$DRUID_SIM_CHROMIUM" ]; then \
		true; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "make: installing Debian's chromium for the dashboard's browser tests"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 \
			|| echo "make: could not install chromium; the dashboard's browser tests will be skipped"; \
	else \
		echo "make: no chromium (install it: apt-get install chromium); the dashboard's browser tests will be skipped"; \
	fi

# The PostgreSQL state store's tests (tests/test_state_postgres.py) run a throw-away server from Debian's
# PostgreSQL binaries. Installed here when missing and apt-get can be used as root; otherwise those tests
# skip and say why. Never fails the build.
postgresql:
	@if command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		true; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "make: installing Debian's postgresql for the PostgreSQL state store's tests"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >/dev/null 2>&1 \
			|| echo "make: could not install postgresql; the PostgreSQL state store's tests will be skipped"; \
	else \
		echo "make: no postgresql (install it: apt-get install postgresql); its state store tests will be skipped"; \
	fi

# Retake the README's screenshots (docs/screenshots/*.png) with the browser tests.
screenshots: $(STAMP) chromium
	DRUID_SIM_SCREENSHOTS=1 $(BIN)/pytest tests/test_dashboard_browser.py

test: lint typecheck unit

# Make every shipped cassette again (cassettes/remake.py): docs-examples from the docs page, demo-recording and
# the example's cassettes recorded from simulators on a frozen clock. The same flow gives the same bytes, so
# `git diff` shows what a change did to them; tests/test_stable_cassettes.py checks that it gives none.
cassettes: $(STAMP)
	$(BIN)/python cassettes/remake.py

bench: $(STAMP)
	$(BIN)/python -m bench

# The long fuzz run (make test runs a short derandomised one): fresh random inputs, FUZZ_EXAMPLES cases
# per operation and flavour (x20 for the loader properties). Several minutes; prints the cases sent.
FUZZ_EXAMPLES ?= 300
fuzz: $(STAMP)
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_RANDOM=1 $(BIN)/pytest tests/fuzz -s -p no:cacheprovider

# A soak: the demo server under steady mixed traffic for SOAK_SECONDS, RSS sampled (bench/soak.py).
SOAK_SECONDS ?= 300
soak: $(STAMP)
	SOAK_SECONDS=$(SOAK_SECONDS) $(BIN)/python -m bench soak

# Mutation testing of the core with mutmut (docs/contributing.md): MUTATE_SAMPLE mutants per module drawn with
# MUTATE_SEED (0: every one, ~11,000, hours on one core), MUTATE_CHILDREN workers at low priority, stopped after
# MUTATE_TIMEOUT seconds; then the score per module and the surviving mutants. The first mutmut run generates
# every mutant and learns which tests reach which function (a few minutes the first time, then incremental).
MUTATE_SAMPLE ?= 40
MUTATE_SEED ?= 23
MUTATE_TIMEOUT ?= 5400
MUTATE_CHILDREN ?= 1
mutate: $(STAMP)
	nice $(BIN)/mutmut run --max-children $(MUTATE_CHILDREN) 'druid_sim.security.model.*'
	$(BIN)/python -m tests.support.mutation names $(MUTATE_SAMPLE) $(MUTATE_SEED) > mutants/sample.txt
	-timeout $(MUTATE_TIMEOUT) nice $(BIN)/mutmut run --max-children $(MUTATE_CHILDREN) $$(cat mutants/sample.txt)
	$(BIN)/python -m tests.support.mutation report mutants/sample.txt

clean:
	rm -rf mutants $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info build dist
