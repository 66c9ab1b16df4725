# The one entry point. `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DB := $(CURDIR)/var/demo.sqlite3
# The demo history ends here (followthrough.demo.history.END); the demo server runs on from it.
DEMO_END := 2026-11-20T16:00:00+00:00

.PHONY: demo test lint typecheck bench soak install clean chromium mailserver lrs

VENDOR := src/followthrough/web/static/vendor
VENDOR_STAMP := $(VENDOR)/.installed

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

# Browser assets come from npm (package-lock.json) and are served by the app from $(VENDOR):
# htmx, Chart.js and Swagger UI for the API reference. No package's install script is run
# (swagger-ui-dist's would report the install to an analytics service).
$(VENDOR_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error --ignore-scripts
	mkdir -p $(VENDOR)/swagger-ui
	cp node_modules/htmx.org/dist/htmx.min.js node_modules/chart.js/dist/chart.umd.min.js $(VENDOR)/
	cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css \
	   node_modules/swagger-ui-dist/favicon-32x32.png node_modules/swagger-ui-dist/LICENSE $(VENDOR)/swagger-ui/
	touch $(VENDOR_STAMP)

# The browser tests drive Debian's Chromium with Playwright (its own browser download is not used).
chromium:
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)

# The mail-in tests and bench poll a real IMAP server: Debian's Dovecot, started by the tests as
# an unprivileged process with a generated configuration (tests/mail/dovecot.py); not run as a service.
mailserver:
	command -v dovecot >/dev/null || test -x /usr/sbin/dovecot || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y dovecot-imapd)

# The learning-record tests send statements to a real LRS: Ralph (ralph-malph), in an environment
# of its own because its pins (Starlette 0.38, click 8.2) cannot live beside ours. It leaves out
# `requests`, which its sign-in code imports.
lrs:
	test -x .venv-ralph/bin/ralph || ($(PYTHON) -m venv .venv-ralph && .venv-ralph/bin/pip install -q 'ralph-malph[lrs,cli]==5.1.0' requests)

install: $(STAMP) $(VENDOR_STAMP)

demo: $(STAMP) $(VENDOR_STAMP)
	mkdir -p var
	$(BIN)/followthrough demo --database-url sqlite:///$(DEMO_DB)
	$(BIN)/followthrough serve --database-url sqlite:///$(DEMO_DB) --host 127.0.0.1 --port 8000 --clock-start $(DEMO_END)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy src

# One worker per core (pytest-xdist), each with its own PostgreSQL database and SQLite files;
# worksteal evens out the few long tests (tests/conftest.py says how the databases are made).
test: lint typecheck $(VENDOR_STAMP) chromium mailserver lrs
	$(BIN)/pytest -q -n auto --dist worksteal

bench: $(STAMP) mailserver
	$(BIN)/python -m bench

# The long hardening runs against a real server on SQLite and PostgreSQL (2 workers): bursts
# with health probed, SIGTERM under load, kill -9 with every acknowledged write checked, then
# schemathesis over every operation as an employee and as an admin (bench/soak.py).
soak: $(STAMP)
	$(BIN)/python -m bench.soak

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache node_modules $(VENDOR)
