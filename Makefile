# The README's commands. `make run` and `make test` set everything up themselves.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test test-sqlite test-postgres test-pgbouncer typescript bench lint format lock clean

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c requirements.lock -e '.[dev]'
	touch $(STAMP)

# DEMO=0 keeps an empty database empty (no seed-demo).
run: $(STAMP)
	$(PY) -m service dev-setup --host $(HOST) --port $(PORT) $(if $(filter 0,$(DEMO)),--no-demo,)
	$(PY) -m service serve --host $(HOST) --port $(PORT)

test: chromium typescript test-sqlite test-postgres

# The TypeScript client a WeChat developer would generate: openapi-typescript on the
# app's OpenAPI document, then tsc --strict on a client that uses the types
# (tests/typescript/client.ts). The npm packages are installed into
# tests/typescript/node_modules from its package-lock.json; without node and npm
# the check is skipped, saying so.
TS_DIR := tests/typescript
typescript: $(STAMP)
	@if ! command -v node >/dev/null || ! command -v npm >/dev/null; then \
		echo "node or npm not found: skipping the TypeScript client check (apt-get install nodejs npm)"; \
		exit 0; \
	fi; \
	set -e; \
	if [ ! $(TS_DIR)/node_modules/.package-lock.json -nt $(TS_DIR)/package-lock.json ]; then \
		npm ci --prefix $(TS_DIR) --no-audit --no-fund --loglevel=error; \
	fi; \
	$(PY) -m service openapi --output $(TS_DIR)/openapi.json; \
	npm --prefix $(TS_DIR) run --silent generate; \
	npm --prefix $(TS_DIR) run --silent check; \
	echo "TypeScript client: generated from the OpenAPI document, tsc --strict passed"

test-sqlite: $(STAMP)
	LINLI_TEST_DB=sqlite $(PY) -m pytest

# Runs only when LINLI_TEST_POSTGRES_URL names a server (.ci/run sets it).
test-postgres: $(STAMP)
	@if [ -n "$$LINLI_TEST_POSTGRES_URL" ]; then \
		LINLI_TEST_DB=postgres $(PY) -m pytest; \
	else \
		echo "LINLI_TEST_POSTGRES_URL not set: skipping the PostgreSQL run"; \
	fi

# The tests that transaction pooling could break (feed, jobs, races: the `pgbouncer`
# marker, tests/conftest.py) again, through a PgBouncer in transaction mode that the
# run starts (tests/pgbouncer.py). Debian's pgbouncer is installed when missing and
# possible (as root); without it, or without LINLI_TEST_POSTGRES_URL, skipped, saying so.
test-pgbouncer: $(STAMP)
	@if [ -z "$$LINLI_TEST_POSTGRES_URL" ]; then \
		echo "LINLI_TEST_POSTGRES_URL not set: skipping the PgBouncer run"; exit 0; \
	fi; \
	if ! command -v pgbouncer >/dev/null && [ ! -x /usr/sbin/pgbouncer ]; then \
		echo "Installing Debian's pgbouncer for the PgBouncer run"; \
		apt-get install -y -q pgbouncer || true; \
	fi; \
	if ! command -v pgbouncer >/dev/null && [ ! -x /usr/sbin/pgbouncer ]; then \
		echo "pgbouncer could not be installed: skipping the PgBouncer run"; exit 0; \
	fi; \
	LINLI_TEST_DB=postgres LINLI_TEST_PGBOUNCER=1 $(PY) -m pytest -m pgbouncer

# Creation throughput directly and through PgBouncer (bench/pgbouncer.py).
.PHONY: bench-pgbouncer
bench-pgbouncer: $(STAMP)
	@command -v wrk >/dev/null || apt-get install -y -q wrk
	@command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ] || apt-get install -y -q pgbouncer
	$(PY) bench/pgbouncer.py

# Load and data-size benchmarks against the raw-driver ceiling (see README).
# wrk comes from Debian's packages; PostgreSQL from LINLI_BENCH_POSTGRES_URL
# (default: the local server).
bench: $(STAMP)
	@command -v wrk >/dev/null || apt-get install -y -q wrk
	$(PY) bench/run.py
	$(PY) bench/datasize.py

# The provider feed: a page of 50 against its ceiling at 10 thousand and 1 million
# events, and 2,000 waiting long-polls on one worker (a few minutes; see README).
.PHONY: bench-feed
bench-feed: $(STAMP)
	@command -v wrk >/dev/null || apt-get install -y -q wrk
	$(PY) bench/feed.py

# Soak: one worker for SOAK_MINUTES under a fixed-rate mixed load with 300 companies
# long-polling the feed and webhooks to a flaky receiver; a row a minute, then
# PASS/FAIL per criterion (see bench/soak.py). SOAK_ARGS: e.g. --rate 100, or
# --fraction 1.5 for overload; --backend sqlite.
SOAK_MINUTES ?= 12
SOAK_ARGS ?= --fraction 0.5
.PHONY: soak
soak: $(STAMP)
	$(PY) bench/soak.py --minutes $(SOAK_MINUTES) $(SOAK_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check service tests migrations bench
	$(VENV)/bin/ruff format --check service tests migrations bench
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff check --fix service tests migrations bench
	$(VENV)/bin/ruff format service tests migrations bench

# Refresh the pinned versions after changing pyproject.toml.
lock: $(STAMP)
	$(PY) -m pip freeze --exclude-editable | grep -v '^-e' > requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
	rm -rf $(TS_DIR)/node_modules $(TS_DIR)/generated $(TS_DIR)/openapi.json

# The long schemathesis run (CI runs a few examples per operation inside `make test`):
# FUZZ_EXAMPLES per role and operation, a new seed each run, and a table of the
# statuses each operation answered. On PostgreSQL too when LINLI_TEST_POSTGRES_URL is set.
FUZZ_EXAMPLES ?= 100
FUZZ_ENV = LINLI_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) LINLI_FUZZ_RANDOM=1 LINLI_FUZZ_SUMMARY=1
FUZZ_TESTS = tests/reliability/test_schemathesis.py tests/reliability/test_documented_statuses.py

# The dashboard's browser test (tests/dashboard) draws the page in Debian's headless
# chromium, with a CJK font; `make test` installs both (~480 MB, as root) when missing
# and possible, and says so first. CHROMIUM=0 never installs them (the test is skipped).
CHROMIUM ?= 1
.PHONY: chromium
chromium:
	@if [ "$(CHROMIUM)" = 0 ]; then \
		echo "CHROMIUM=0: the dashboard's browser test will be skipped"; \
	elif ! command -v chromium >/dev/null; then \
		echo "Installing Debian's chromium and fonts-wqy-microhei (~480 MB) for the dashboard's"; \
		echo "browser test; CHROMIUM=0 skips this (and the test)."; \
		apt-get install -y -q chromium fonts-wqy-microhei \
			|| echo "chromium could not be installed: the browser test will be skipped"; \
	fi

# Metrics on generated data (bench/metrics.py; LINLI_BENCH_POSTGRES_URL as for bench).
.PHONY: bench-metrics
bench-metrics: $(STAMP)
	$(PY) bench/metrics.py

.PHONY: fuzz
fuzz: $(STAMP)
	$(FUZZ_ENV) LINLI_TEST_DB=sqlite $(PY) -m pytest $(FUZZ_TESTS)
	@if [ -n "$$LINLI_TEST_POSTGRES_URL" ]; then \
		$(FUZZ_ENV) LINLI_TEST_DB=postgres $(PY) -m pytest $(FUZZ_TESTS); \
	else \
		echo "LINLI_TEST_POSTGRES_URL not set: skipping the PostgreSQL run"; \
	fi
