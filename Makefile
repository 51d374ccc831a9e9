# The whole set-up on a fresh machine is `make demo` (serve with demo data) or `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PACKAGES := gateway schema resolvers policies audit store domain

# `install` also builds GraphiQL's files when npm is there (see `graphiql` below)
.PHONY: install demo test check lint typecheck format schema postgres bench-audit clean mutate docs docs-check

# with the mutate extra: the tests of `make mutate`'s own machinery run in the suite
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,mutate]"
	touch $(STAMP)

install: $(STAMP) graphiql

demo: install
	$(VENV)/bin/dibao serve --demo

# PostgreSQL is part of the test matrix: start the local cluster when it is down.
postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 || { \
		pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | head -n1) main start; \
		for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; }
	@pg_isready -h 127.0.0.1 -p 5432

# Two processes, each taking a test file at a time (a file's fixtures stay with it); the
# tests marked `serial` (one stops the machine's PostgreSQL) run after them, alone.
# TEST_WORKERS=0 runs everything in this one process.
TEST_WORKERS ?= 2
test: install postgres browser http-audit
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile -m "not serial"
	$(PY) -m pytest -m serial

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache  # the layer contracts in pyproject.toml

typecheck: install
	$(VENV)/bin/mypy

check: lint typecheck test

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

schema: install
	$(PY) -c "from schema.root import build_schema; open('schema.graphql', 'w').write(build_schema().as_str() + '\n')"

# documents that restate code: the README's settings table, docs/field-decisions.md
docs: install
	$(PY) docs/render.py

docs-check: install
	$(PY) docs/render.py --check

# the deployment examples (docs/deploy): every command and setting against the code, then
# `systemd-analyze verify` and `nginx -t` where they can run. nginx comes from Debian's
# archive, unpacked under .cache/deploy: never installed, never started. Best effort:
# without it (or without systemd-analyze) those two checks skip.
DEPLOY_CACHE := .cache/deploy
.PHONY: deploy-check
deploy-check: install
	-@command -v nginx >/dev/null || [ -x $(DEPLOY_CACHE)/root/usr/sbin/nginx ] || \
		(mkdir -p $(DEPLOY_CACHE) && cd $(DEPLOY_CACHE) && \
		timeout 300 apt-get download -q nginx libnginx-mod-stream && \
		for deb in *.deb; do dpkg -x $$deb root; done)
	$(PY) -m pytest -q tests/deploy

# what one audit append costs next to a bare round trip (PostgreSQL); prints JSON
bench-audit: install postgres
	$(PY) bench/audit_cost.py

# a generated 100,000-member legacy register imported into PostgreSQL, next to its dry run
.PHONY: bench-import
bench-import: install postgres
	$(PY) bench/import_bench.py $(BENCH_ARGS)

# a 100,000-household county's payment roll written as .xlsx on PostgreSQL (issue 20:
# ≤ 30 s, flat memory); prints JSON. BENCH_ARGS="--format CSV --households 20000"
.PHONY: bench-export
bench-export: install postgres
	$(PY) bench/export_bench.py $(BENCH_ARGS)

# the system Chromium (Debian package) and a CJK font for the console's browser tests;
# never a downloaded browser. Best effort: without it the browser test skips, unless
# DIBAO_REQUIRE_BROWSER=1 (which .ci/run sets when Chromium is there).
.PHONY: browser
browser:
	-@command -v chromium >/dev/null || (timeout 600 apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive timeout 900 \
		apt-get install -y -q --no-install-recommends chromium fonts-wqy-microhei)

# the graphql-http server audit (npm, pinned by tests/http_audit/package-lock.json) for
# tests/api/test_http_audit.py. Best effort: without Node the test skips, unless
# DIBAO_REQUIRE_NODE=1 (which .ci/run sets: Node is on every machine of this kind).
HTTP_AUDIT := tests/http_audit
.PHONY: http-audit
http-audit:
	-@if command -v npm >/dev/null; then [ -d $(HTTP_AUDIT)/node_modules/graphql-http ] || \
		(cd $(HTTP_AUDIT) && timeout 300 npm ci --no-audit --no-fund --loglevel=error); fi

# GraphiQL's files, bundled from npm packages pinned by gateway/graphiql_assets/package-lock.json
# and served by the service itself (gateway/graphiql.py). Best effort: without npm the page
# at GET /graphql says how to install them, and the browser test skips unless
# DIBAO_REQUIRE_BROWSER=1.
GRAPHIQL := gateway/graphiql_assets
.PHONY: graphiql
graphiql:
	-@if command -v npm >/dev/null; then $(MAKE) -s --no-print-directory $(GRAPHIQL)/dist/graphiql.js; \
	else echo "npm is missing: GraphiQL's files are not installed (make graphiql)"; fi

$(GRAPHIQL)/dist/graphiql.js: $(GRAPHIQL)/package-lock.json $(GRAPHIQL)/page.js $(GRAPHIQL)/build.mjs
	cd $(GRAPHIQL) && timeout 300 npm ci --no-audit --no-fund --loglevel=error && npm run build --silent

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache dibao.db dibao.db-wal dibao.db-shm

# the full gateway against a bare Strawberry baseline and (with Node) PostGraphile 4, on
# PostgreSQL, 100k households by default (not part of `make test`); prints JSON.
# wrk from Debian when missing (best effort: the Python load client stands in).
.PHONY: bench
bench: install postgres
	-@command -v wrk >/dev/null || DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -q wrk >/dev/null
	$(PY) bench/run.py $(BENCH_ARGS)

# every root read once per role that may call it, at 100k and 1M households (seeded with
# the national tree into scale_bench_<n>, reused on later runs): median and max latency at
# both sizes, their ratio, and EXPLAIN (ANALYZE, BUFFERS) of the main reads; prints JSON.
# SCALE_ARGS passes options (--sizes 100000,300000, --repeat, --only, --no-plans).
.PHONY: bench-scale
bench-scale: install postgres
	$(PY) bench/scale.py $(SCALE_ARGS)

# ten minutes of mixed traffic at 32 connections: errors (must be 0), p99, server memory
.PHONY: soak fuzz
soak: install postgres
	-@command -v wrk >/dev/null || DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -q wrk >/dev/null
	$(PY) bench/soak.py $(SOAK_ARGS)

# the schemathesis fuzz of `make test`, longer and randomized
fuzz: install postgres
	DIBAO_FUZZ_EXAMPLES=$${DIBAO_FUZZ_EXAMPLES:-25} DIBAO_FUZZ_RANDOM=1 $(PY) -m pytest -q tests/api/test_fuzz.py

# mutation testing of the modules that keep the README's promises (not part of `make test`):
# each mutant runs only its module's tests (bench/mutate.py has the table); prints JSON.
# MUTATE_ARGS="--only chain" narrows it, "--report" prints the last figures.
mutate: install postgres
	$(PY) bench/mutate.py $(MUTATE_ARGS)
