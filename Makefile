# Cloud Doctor (云博士). `make run` and `make test` install everything they need.
SHELL := /bin/bash
PYTHON_VERSION := $(shell cat .python-version)
PYENV_PYTHON := $(shell PYENV_VERSION=$(PYTHON_VERSION) pyenv which python 2>/dev/null || echo $(HOME)/.pyenv/versions/$(PYTHON_VERSION)/bin/python)
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
LOCK_HASH := $(shell cat requirements.lock pyproject.toml | sha1sum | cut -c1-12)
STAMP := $(VENV)/.installed-$(LOCK_HASH)
export TF_CPP_MIN_LOG_LEVEL := 3
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export RASA_TELEMETRY_ENABLED := false

.PHONY: install run test lint typecheck train validate browser bench clean

install: $(STAMP)

$(STAMP):
	@test -x $(PY) || $(PYENV_PYTHON) -m venv $(VENV)
	@$(PY) -c 'import sys; assert sys.version_info[:2] == (3, 10), "need Python 3.10, got " + sys.version' \
	  || { echo "The virtualenv is not Python 3.10: rm -rf $(VENV) and retry"; exit 1; }
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -r requirements.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@rm -f $(VENV)/.installed-*
	@touch $@

## Train if the model is missing or stale, then serve the assistant + demo page.
run: install
	$(BIN)/cloud-doctor run

train: install
	$(BIN)/cloud-doctor train

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy core platforms grids broadcast tickets knowledge insight connectors actions console bot bench

validate: install
	$(BIN)/rasa data validate --fail-on-warnings --quiet

## Debian's chromium for the browser test of the demo page (Playwright drives it; no download),
## and the CJK fonts so that its screenshots (var/screenshots/) show Chinese.
browser:
	@command -v chromium >/dev/null || apt-get install -y -q chromium >/dev/null 2>&1 \
	  || echo "chromium could not be installed: the browser test of the demo page will be skipped"
	@fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || apt-get install -y -q fonts-noto-cjk >/dev/null 2>&1 \
	  || echo "fonts-noto-cjk could not be installed: screenshots will not show Chinese"

## Everything CI runs: lint, types, the full model (trained once, cached by fingerprint),
## then the suite (unit, integration incl. `rasa data validate` and `rasa test`, e2e).
test: install browser lint typecheck train
	$(BIN)/pytest -q

bench: install train
	$(PY) bench/nlu.py
	$(PY) bench/grids.py
	$(PY) bench/connectors.py
	$(PY) bench/broadcast.py
	$(PY) bench/console.py
	$(PY) bench/nlg.py
	$(PY) bench/insight.py

clean:
	rm -rf models var .pytest_cache .mypy_cache .ruff_cache results
