# Tilik — the two commands a new machine needs: `make run` (the app) and `make test` (the suite).
# Everything else (training, packaging, benchmarks) builds on the same virtual environment.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
STAMP_RUN := $(VENV)/.stamp-runtime
STAMP_ALL := $(VENV)/.stamp-all

.PHONY: run test selftest bad-images clean-venv

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
	scripts/ensure-postgresql.sh
	$(VENV)/bin/lint-imports
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

selftest: $(STAMP_RUN)
	$(VENV)/bin/tilik self-test

bad-images: $(STAMP_RUN)
	$(PY) tests/data/make_bad_images.py

clean-venv:
	rm -rf $(VENV)

# -- packaging: a one-folder PyInstaller bundle built from a runtime-only environment ------------
# .venv-package holds the app's runtime dependencies and PyInstaller, nothing else (no TensorFlow,
# Keras, OpenCV, test tools), so nothing only training needs can be collected into the bundle.
PKG_VENV := .venv-package
PKG_PIP := $(PKG_VENV)/bin/python -m pip --disable-pip-version-check -q
PKG_STAMP := $(PKG_VENV)/.stamp
ARCHIVE := dist/tilik-linux-x86_64.tar.gz

$(PKG_STAMP): pyproject.toml
	test -x $(PKG_VENV)/bin/python || $(PYTHON) -m venv $(PKG_VENV)
	$(PKG_PIP) install --upgrade "pip>=24" "setuptools>=77" wheel
	$(PKG_PIP) install "pyinstaller==6.22.3" "pyinstaller-hooks-contrib==2026.9"
	touch $@

# dist/tilik/ (the app: dist/tilik/tilik) and dist/tilik-linux-x86_64.tar.gz; prints what each part
# weighs and fails when a size budget is exceeded or training-only code got in (packaging/sizes.py).
package: $(PKG_STAMP)
	$(PKG_PIP) install --force-reinstall --no-deps .
	$(PKG_PIP) install .
	rm -rf build/pyinstaller dist/tilik $(ARCHIVE)
	$(PKG_VENV)/bin/pyinstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller packaging/tilik.spec
	tar -czf $(ARCHIVE) -C dist tilik
	$(PKG_VENV)/bin/python packaging/sizes.py dist/tilik $(ARCHIVE)

# Build the bundle, then run its self-test with no display: every bundled pack on its samples, and
# the desktop app started offscreen (packaging/selftest.sh). CI runs this after `make test`.
package-selftest: package
	packaging/selftest.sh dist/tilik/tilik

.PHONY: package package-selftest

# -- benchmarks: one run, medians and ratios, written to benchmarks/results.md -------------------
# `make bench BENCH_ARGS=--quick` for a short, indicative run (written to benchmarks/results-quick.md).
# The frozen bundle's cold start is measured when dist/tilik exists (built here when missing).
BENCH_ARGS ?=
bench: $(STAMP_ALL)
	test -x dist/tilik/tilik || $(MAKE) package
	QT_QPA_PLATFORM=offscreen $(PY) benchmarks/run.py $(BENCH_ARGS)

.PHONY: bench

.PHONY: translations screenshots

# Translations: extract the GUI's strings into resources/i18n/*.ts (keeping existing translations)
# and compile them to the .qm files the app loads (committed, so `make run` needs no Qt tools).
I18N_TS := resources/i18n/tilik_id.ts
translations: $(STAMP_RUN)
	$(VENV)/bin/pyside6-lupdate -no-obsolete -locations relative gui/*.py gui/controllers/*.py gui/widgets/*.py -ts $(I18N_TS)
	for ts in resources/i18n/*.ts; do $(VENV)/bin/pyside6-lrelease $$ts -qm $${ts%.ts}.qm; done

# Screenshots of the main window's states into docs/screenshots/ (tiny test packs, or the real
# packs in models/ when present). Uses Xvfb when installed, else Qt's offscreen platform. Shot 17
# (seal profiles) enrols bolt seals drawn by the second seal renderer (training/seals_alt, Pillow only).
SHOT_SEALS := runs/screenshot-seals
screenshots: $(STAMP_ALL)
	test -d $(SHOT_SEALS)/bolt || $(PY) -m training.seals_alt --out $(SHOT_SEALS) --profiles --intact 60 --damaged 30 --seed 1234
	if command -v xvfb-run >/dev/null 2>&1; then \
		xvfb-run -a -s "-screen 0 1600x1000x24" $(PY) -m gui.screenshots docs/screenshots --seal-photos $(SHOT_SEALS)/bolt; \
		xvfb-run -a -s "-screen 0 1600x1000x24" $(PY) -m gui.screenshots docs/screenshots/id --language id --seal-photos $(SHOT_SEALS)/bolt; \
	else \
		QT_QPA_PLATFORM=offscreen $(PY) -m gui.screenshots docs/screenshots --seal-photos $(SHOT_SEALS)/bolt; \
		QT_QPA_PLATFORM=offscreen $(PY) -m gui.screenshots docs/screenshots/id --language id --seal-photos $(SHOT_SEALS)/bolt; \
	fi
