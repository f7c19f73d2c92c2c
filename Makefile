# Tilik — the two commands a new machine needs: `make run` (the app) and `make test` (the suite).
# Everything else (training, packaging, benchmarks) builds on the same virtual environment.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
STAMP_RUN := $(VENV)/.stamp-runtime
STAMP_ALL := $(VENV)/.stamp-all

.PHONY: run test lint selftest train-help clean-venv

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade "pip>=24" "setuptools>=77" wheel

# Runtime only: what the desktop app needs.
$(STAMP_RUN): pyproject.toml | $(PY)
	$(PIP) install -e .
	touch $@

# Everything: runtime + training + development tools.
$(STAMP_ALL): pyproject.toml | $(PY)
	$(PIP) install -e ".[train,dev]"
	touch $(STAMP_RUN) $@

run: $(STAMP_RUN)
	$(VENV)/bin/tilik

test: $(STAMP_ALL)
	$(VENV)/bin/lint-imports
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

selftest: $(STAMP_RUN)
	$(VENV)/bin/tilik self-test

bad-images: $(STAMP_RUN)
	$(PY) tests/data/make_bad_images.py

clean-venv:
	rm -rf $(VENV)
