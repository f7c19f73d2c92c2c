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
	$(VENV)/bin/lint-imports
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

selftest: $(STAMP_RUN)
	$(VENV)/bin/tilik self-test

bad-images: $(STAMP_RUN)
	$(PY) tests/data/make_bad_images.py

clean-venv:
	rm -rf $(VENV)

# -- packaging: a one-folder PyInstaller bundle built from a runtime-only environment ------------
PKG_VENV := .venv-package
PKG_STAMP := $(PKG_VENV)/.stamp
ARCHIVE := dist/tilik-linux-x86_64.tar.gz

$(PKG_STAMP): pyproject.toml
	test -x $(PKG_VENV)/bin/python || $(PYTHON) -m venv $(PKG_VENV)
	$(PKG_VENV)/bin/python -m pip --disable-pip-version-check -q install --upgrade "pip>=24" "setuptools>=77" wheel
	$(PKG_VENV)/bin/python -m pip --disable-pip-version-check -q install "pyinstaller==6.22.3" "pyinstaller-hooks-contrib==2026.9"
	touch $@

package: $(PKG_STAMP)
	$(PKG_VENV)/bin/python -m pip --disable-pip-version-check -q install --force-reinstall --no-deps .
	$(PKG_VENV)/bin/python -m pip --disable-pip-version-check -q install .
	rm -rf build/pyinstaller dist/tilik $(ARCHIVE)
	$(PKG_VENV)/bin/pyinstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller packaging/tilik.spec
	tar -czf $(ARCHIVE) -C dist tilik
	$(PKG_VENV)/bin/python packaging/sizes.py dist/tilik $(ARCHIVE)

package-selftest: package
	env -u DISPLAY -u WAYLAND_DISPLAY dist/tilik/tilik self-test

.PHONY: package package-selftest

# -- benchmarks: one run, medians and ratios, written to benchmarks/results.md -------------------
bench: $(STAMP_ALL)
	QT_QPA_PLATFORM=offscreen $(PY) benchmarks/run.py

.PHONY: bench

.PHONY: translations screenshots

# Translations: extract the GUI's strings into resources/i18n/*.ts (keeping existing translations)
# and compile them to the .qm files the app loads (committed, so `make run` needs no Qt tools).
I18N_TS := resources/i18n/tilik_id.ts
translations: $(STAMP_RUN)
	$(VENV)/bin/pyside6-lupdate -no-obsolete -locations relative gui/*.py gui/widgets/*.py -ts $(I18N_TS)
	for ts in resources/i18n/*.ts; do $(VENV)/bin/pyside6-lrelease $$ts -qm $${ts%.ts}.qm; done

# Screenshots of the main window's states into docs/screenshots/ (tiny test packs, or the real
# packs in models/ when present). Uses Xvfb when installed, else Qt's offscreen platform.
screenshots: $(STAMP_ALL)
	if command -v xvfb-run >/dev/null 2>&1; then \
		xvfb-run -a -s "-screen 0 1600x1000x24" $(PY) -m gui.screenshots docs/screenshots; \
	else \
		QT_QPA_PLATFORM=offscreen $(PY) -m gui.screenshots docs/screenshots; \
	fi
