# Two commands do all the set-up: `make run` and `make test`. See README.md.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000

.PHONY: run test install install-test assets messages migrate demo clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Reinstall only when the pinned dependencies change.
$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet ".[test]"
	touch $@

# pa11y's puppeteer drives Debian's Chromium (/usr/bin/chromium): it must not download a browser of its own.
node_modules/.installed: package.json package-lock.json
	PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund
	touch $@

install: $(VENV)/.installed node_modules/.installed

# Open311 discovery and the OpenAPI document's servers point at SITE_URL: by default, where `make run` serves.
SITE_URL ?= http://localhost:$(PORT)
DEV = DEBUG=1 SITE_URL=$(SITE_URL)

run: install
	$(DEV) $(PY) manage.py migrate --noinput
	$(DEV) $(PY) manage.py load_demo
	$(DEV) $(PY) manage.py rebuild_insight --verbosity 0
	$(DEV) $(PY) manage.py runserver 0.0.0.0:$(PORT)

# Uses DATABASE_URL and REDIS_URL when set; tests needing a service skip without them,
# or fail when REQUIRE_SERVICES=1 (as .ci/run sets).
test: install
	DEBUG=0 SECRET_KEY=$${SECRET_KEY:-insecure-key-for-tests-only} $(PY) -m pytest $(PYTEST_ARGS)

# Refresh the gettext catalogues after changing user-facing text, then translate the new entries.
messages: install
	DEBUG=1 $(PY) manage.py makemessages --all --no-location --ignore=.venv --ignore=node_modules --ignore=staticfiles
	DEBUG=1 $(PY) manage.py compilemessages --ignore=.venv

clean:
	rm -rf $(VENV) node_modules staticfiles
