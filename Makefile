# Two commands set everything up: `make run` (demo shop + worker) and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install browser run migrate seed test test-unit test-integration test-production bench load-test clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt pyproject.toml | $(PY)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

migrate: install
	mkdir -p var
	$(PY) manage.py migrate --noinput

seed: migrate
	DJANGO_SUPERUSER_PASSWORD=admin $(PY) manage.py createsuperuser --noinput --username admin --email admin@example.com 2>/dev/null || true
	$(PY) manage.py seed_demo

run: seed
	$(PY) -m shop.devrun

test: install browser
	$(PY) -m shop.devrun exec -- $(PY) -m pytest

# Debian's Chromium for the browser tests (root with apt only; otherwise those tests skip and say why).
browser:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's chromium for the browser tests"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || true; \
	fi

test-unit: install
	$(PY) -m pytest tests/unit

test-integration: install
	$(PY) -m shop.devrun exec -- $(PY) -m pytest tests/integration

# S3 (moto_server) and the production topology (gunicorn + two workers); CI runs it on PostgreSQL.
test-production: install
	$(PY) -m pytest tests/s3 tests/deploy

bench: install
	$(PY) -m benchmarks.run

# Issue 5's load test: gunicorn + two workers, uploads through the admin while API readers poll;
# figures into docs/reliability.md (about 3 min). Smaller: make load-test LOAD_ARGS="--uploads 60 --clients 4 --readers 30"
load-test: install
	$(PY) -m benchmarks.load_test $(LOAD_ARGS)

clean:
	rm -rf var .pytest_cache test-artifacts
