# Lodestone: `make run` sets everything up and runs the app with demo data; `make test` runs the tests.
# Both work on a fresh machine with Python 3.11+ and reuse what an earlier run set up.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.DEFAULT_GOAL := help
.PHONY: help run test setup setup-dev migrate demo lint format scan loadtest check ci clean

help:
	@echo "make run    set up, load the demo data and run web, worker and beat (Ctrl-C stops all)"
	@echo "make test   set up and run the test suite"
	@echo "make lint   ruff check, format check, the import contracts and the types (mypy);  make format   apply ruff format and fixes"
	@echo "make loadtest  50 users for 60 s against gunicorn and PostgreSQL on loopback (loadtest/README.md)"
	@echo "make scan   bandit over the code, pip-audit over the installed packages (says NOT AUDITED without the index's data)"
	@echo "make check  everything CI checks except the PostgreSQL/Redis pass (.ci/run does both)"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (set PYTHON=...)")'
	@echo "==> Creating the Python environment in $(VENV)/"
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip

# Stamps: reinstall only when the requirement files change.
$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	@echo "==> Installing the Python packages of requirements.txt (about a minute on a new machine)"
	@$(BIN)/pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	@echo "==> Installing the Python packages of requirements-dev.txt (a minute or two on a new machine)"
	@$(BIN)/pip install --quiet -r requirements-dev.txt
	@touch $@ $(VENV)/.runtime-installed

# Front-end libraries (chart.js, htmx) from the npm registry, pinned by package-lock.json; npm ci also
# installs the devDependencies (axe-core, which the browser tests read from node_modules; never served).
node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm (Node.js) is needed for the front-end libraries"; exit 1; }
	@echo "==> Installing the front-end libraries (npm ci)"
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $@

setup: $(VENV)/.runtime-installed node_modules/.installed
setup-dev: $(VENV)/.dev-installed node_modules/.installed

migrate: setup
	@echo "==> Migrating the database"
	@$(BIN)/python manage.py migrate --noinput --verbosity 0

demo: migrate
	@echo "==> Loading the demo data (into an empty database only)"
	@$(BIN)/python manage.py load_demo --if-empty

run: demo
	@$(BIN)/python manage.py ensure_admin
	@# Value the portfolio as soon as the worker starts (a run already queued is kept instead); on the
	@# first start, value each weekday of the last year too, so that the charts have a history.
	-@$(BIN)/python manage.py refresh --only milestones --trigger startup >/dev/null
	-@$(BIN)/python manage.py refresh --background --trigger startup --history 365
	@echo ""
	@echo "  Lodestone is starting at http://127.0.0.1:$(PORT)/   (admin: http://127.0.0.1:$(PORT)/admin/)"
	@echo "  Ctrl-C stops the web server, the worker and the scheduler."
	@echo ""
	@DJANGO_SETTINGS_MODULE=tracker.settings.local WEB_CONCURRENCY=$${WEB_CONCURRENCY:-2} PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m tracker.processes start --port $(PORT) --procfile Procfile

# On two pytest-xdist workers (addopts in pyproject.toml); `.venv/bin/pytest -n 0` runs in one process.
test: setup-dev
	$(BIN)/pytest

lint: setup-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

format: setup-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Load test against PostgreSQL and Redis on localhost (loadtest/README.md).
$(VENV)/.load-installed: requirements-load.txt requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-load.txt
	@touch $@

loadtest: setup-dev $(VENV)/.load-installed
	loadtest/run

scan: setup-dev
	$(BIN)/bandit -c pyproject.toml -q -r portfolio tracker manage.py --severity-level medium
	$(BIN)/python .ci/audit.py $(BIN)/python

check: lint
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python manage.py check
	$(BIN)/pytest

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
