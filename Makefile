# Two commands do all the set-up: `make run` (the portal with a worker, beat and demo data) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
UV_VERSION := 0.13.9
export PORT

.PHONY: run test lint format migrate demo clean

$(BIN)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# uv installs the pinned set in seconds (pip takes most of a minute); plain pip is the fallback.
	( $(BIN)/pip install --quiet uv==$(UV_VERSION) && $(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements-dev.txt ) \
		|| $(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

migrate: $(BIN)/.installed
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py seed_demo

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
