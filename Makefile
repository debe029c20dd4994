# `make run` runs the platform; `make test` runs the tests. Both create the virtual
# environment and install what they need on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run test lint format manage clean

$(VENV)/.runtime: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

run: $(VENV)/.runtime
	$(PY) -m algotrader.devstack run

test: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m algotrader.devstack test -- $(PY) -m pytest $(PYTEST_ARGS)
	@if [ -f mobile/package.json ] && command -v npm >/dev/null; then \
		cd mobile && npm ci --no-audit --no-fund --loglevel=error && npm test; \
	else echo "Node.js is not installed: the app's Jest tests did not run."; fi

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Any manage.py command in the same environment, e.g. `make manage ARGS="createsuperuser"`.
manage: $(VENV)/.runtime
	$(PY) -m algotrader.devstack exec -- $(PY) manage.py $(ARGS)

clean:
	rm -rf $(VENV) .local staticfiles
