# Tally: `make run` serves the demo, `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# Debian packages: WeasyPrint's Pango, fonts, ffmpeg + srt-tools for telemetry tests,
# chromium for browser tests, poppler-utils to look at PDFs, faketime for the time-travel pass,
# prometheus for the remote-write and /metrics tests.
APT_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
	ffmpeg srt-tools chromium poppler-utils redis-server faketime prometheus
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-time-travel install system-deps bench lint format migrate demo worker clean

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e ".[dev]"
	@touch $@

install: system-deps $(VENV)/.installed

system-deps:
	@missing=""; for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
			echo "Installing Debian packages:$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		elif command -v apt-get >/dev/null && command -v sudo >/dev/null; then \
			sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else echo "Note: missing system packages:$$missing (tests that need them will be skipped)"; fi; \
	fi

migrate: install
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py load_demo

run: demo
	@echo ""
	@echo "  Tally is running at http://$(HOST):$(PORT)/"
	@echo "  Demo logins (password: $${TALLY_DEMO_PASSWORD:-tally-demo-2026}):"
	@echo "    lead      lead of the demo event"
	@echo "    operator  operator of the demo event"
	@echo "    viewer    viewer of the demo event"
	@echo "    admin     Django staff (admin site at /admin/)"
	@echo "  A background worker (reports, snapshots, reminders) runs beside it; Ctrl-C stops both."
	@echo ""
	$(PY) manage.py run_embedded $(HOST):$(PORT)

# The suite runs in parallel processes (pytest-xdist), a module per process at a time;
# each process has its own test database, queues and Celery worker. TEST_WORKERS=0 runs it in one.
TEST_WORKERS ?= 2
PARALLEL = $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile)

test: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(PY) tests/run.py $(PARALLEL)

# The suite with the machine's clock moved (default: 400 days ahead), as CI runs it.
TIME_TRAVEL ?= +400d
TIME_TRAVEL_TESTS ?= tests/retro tests/runbooks tests/integrations tests/test_calendar.py
test-time-travel: install
	TALLY_TIME_TRAVEL="$(TIME_TRAVEL)" $(PY) tests/run.py $(PARALLEL) $(TIME_TRAVEL_TESTS)

bench: install
	$(PY) bench/run.py

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

worker: install
	$(VENV)/bin/celery -A tally worker -Q ingest,slow,default,webhooks -l info

clean:
	rm -rf data/test .pytest_cache
