# Every target creates or refreshes the environment in .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The desk `make demo` and `make dev` emulate: generic (the reference contract), zendesk,
# freshdesk or helpscout (that desk's preset, SUPPORT_VENDOR).
VENDOR ?= generic
# Which benchmark contenders `make bench` runs: a (the session: floor, bare dlt, the CLI's
# loads and refreshes), b (100 ms latency), c (600 requests/min), d (latency with 429s and
# 5xx); e.g. `make bench CONTENDERS=b,d`.
CONTENDERS ?= a,b,c,d
# pytest-xdist workers for `make test`: most tests wait on Dagster's clocks, servers and
# subprocesses, so two workers halve the suite on two cores (30 min -> 10 min measured);
# TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= 2

.DEFAULT_GOAL := help
.PHONY: help venv chromium demo dev test lint format bench bench-small bench-sandbox bench-sandbox-small clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

# Bytecode is compiled at install: where PYTHONDONTWRITEBYTECODE is set (as on CI
# machines), every dagster CLI call, daemon and run worker would compile its imports again.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP) ## create the environment in .venv (dev extras included)

chromium: ## install Debian's chromium for the UI test when missing (root only)
	@command -v chromium >/dev/null 2>&1 && exit 0; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "*** chromium is missing: the UI test will be skipped (apt-get install chromium) ***"; \
	fi

demo: $(STAMP) ## start the sandbox API, materialize both assets into DuckDB, print what loaded (VENDOR=zendesk|freshdesk|helpscout: that desk)
	$(BIN)/python -m support_assets.demo --vendor $(VENDOR)

dev: $(STAMP) ## start the sandbox API and the Dagster UI on http://127.0.0.1:3000 (VENDOR= as for demo)
	$(BIN)/python -m support_assets.demo --ui --vendor $(VENDOR)

test: lint chromium ## lint, then the whole test suite on TEST_WORKERS processes (dg check defs and the CLIs included)
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal

lint: $(STAMP) ## ruff check, ruff format --check, pyright
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pyright

format: $(STAMP) ## ruff fix and format
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP) ## pipeline benchmark, each contender beside its limit: floor, bare dlt, support_assets at 100k tickets + 500k comments, then latency, rate budget, faults (CONTENDERS=a,b,c,d)
	$(BIN)/python -m benchmarks.pipeline --contenders $(CONTENDERS)

bench-small: $(STAMP) ## the pipeline benchmark at 10k + 50k, 3 repetitions of the session (CONTENDERS= as for bench)
	$(BIN)/python -m benchmarks.pipeline --scale small --contenders $(CONTENDERS)

bench-sandbox: $(STAMP) ## sandbox speed at 100k tickets + 500k comments
	$(BIN)/python -m benchmarks.sandbox

bench-sandbox-small: $(STAMP) ## sandbox speed at a small scale, for a quick check
	$(BIN)/python -m benchmarks.sandbox --small

clean: ## remove the environment and local data
	rm -rf $(VENV) data .pytest_cache .ruff_cache
