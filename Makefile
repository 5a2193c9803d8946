# Two commands do all the set-up: `make run` (the portal with a worker, beat and demo data) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
UV_VERSION := 0.13.9
export PORT
# The Python processes make starts write their bytecode (__pycache__, ignored by git) even where
# PYTHONDONTWRITEBYTECODE is set: otherwise each of them (migrate, seed_demo, web, worker, beat) compiles the
# same 1,400 modules again, 3-5 s apiece, since uv (unlike pip) compiles nothing at install.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run test lint format migrate demo clean

$(BIN)/.installed: requirements.txt requirements-dev.txt
	# A venv without pip takes a fraction of a second (with pip about 7 s: ensurepip compiles all of pip).
	test -x $(BIN)/python || $(PYTHON) -m venv --without-pip $(VENV)
	# uv installs the pinned set in seconds (pip takes most of a minute), and pip beside it. uv comes from the
	# system's pip if it has one (pip 22.3+), else from pip put in the venv; plain pip is the fallback.
	( ( $(BIN)/uv --version 2>/dev/null | grep -qwF "uv $(UV_VERSION)" \
		|| $(PYTHON) -m pip --python $(BIN)/python install --quiet uv==$(UV_VERSION) 2>/dev/null \
		|| ( $(BIN)/python -m ensurepip --default-pip && $(BIN)/pip install --quiet uv==$(UV_VERSION) ) ) \
	  && $(BIN)/uv pip install --quiet --python $(BIN)/python pip -r requirements-dev.txt ) \
		|| ( $(BIN)/python -m ensurepip --default-pip && $(BIN)/pip install --quiet -r requirements-dev.txt )
	touch $@

migrate: $(BIN)/.installed
	$(BIN)/python manage.py migrate --noinput

# Migrates first in the same process: one Python start-up and one round of system checks fewer. Without DEBUG,
# as the benches: under DEBUG Django keeps the SQL of every query, the demo history's bulk INSERTs too (0.5 s).
demo: $(BIN)/.installed
	DEBUG=false $(BIN)/python manage.py seed_demo --migrate

# A merchant trying webhooks can point one at a receiver on this machine (localhost); never in production.
run: export WEBHOOK_ALLOW_PRIVATE_URLS ?= true
run: demo
	@echo "Portal: http://localhost:$(PORT)/  ·  admin: http://localhost:$(PORT)/admin/  ·  Ctrl-C stops web, worker and beat"
	$(BIN)/honcho --procfile Procfile.dev start

test: $(BIN)/.installed
	$(BIN)/pytest

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(BIN)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) var/db.sqlite3 var/celery var/celerybeat-schedule* var/static
