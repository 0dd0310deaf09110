# PovertyCase: `make run` serves the demo, `make test` runs every check. See README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# check --deploy runs with production settings and throwaway values (nothing is served).
DEPLOY_ENV := DJANGO_ENV=production DJANGO_SECRET_KEY=check-deploy-only-$$(date +%s)-not-a-real-key-0123456789abcdef DJANGO_ALLOWED_HOSTS=povertycase.example

.PHONY: install run test lint format check-deploy bench worker messages clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py setup_demo
	$(BIN)/python manage.py runserver 127.0.0.1:8000

test: install lint
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(DEPLOY_ENV) $(BIN)/python manage.py check --deploy --fail-level WARNING
	$(BIN)/python manage.py spectacular --validate --fail-on-warn --file /dev/null
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	$(BIN)/python bench/recalculate.py

worker: install
	$(BIN)/celery -A povertycase worker -B --loglevel INFO

messages: install
	$(BIN)/python manage.py makemessages -l id -l en --ignore '.venv/*' --ignore 'bench/*' --ignore 'tests/*'
	$(BIN)/python manage.py compilemessages --ignore '.venv/*'

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* staticfiles
