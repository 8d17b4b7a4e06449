# figlake: the two commands are `make demo` and `make test` (see README.md).
PYTHON ?= python3.11
VENV   := .venv
STAMP  := $(VENV)/.installed
RUN    := PATH="$(CURDIR)/$(VENV)/bin:$$PATH"

.PHONY: demo benchmarks test test-all lint install lock clean stem-full chromium screenshots checkpoints

# 1. Install, build the embedded default lake with `dvc repro` (every stage the catalog depends on:
#    sources, captions, figures, spectra, STEM, vectors), show what it holds.
demo: $(STAMP)
	$(RUN) dvc repro catalog
	$(RUN) figlake summary
	@echo "\nActivate the environment to use figlake and dvc directly:  . .venv/bin/activate"
	@echo "Measure it: make benchmarks (the evaluate_* stages, ~15 min; then dvc metrics show)"

# The evaluate_* stages: every benchmark, written to metrics/*.json and reports/*.md.
benchmarks: $(STAMP)
	$(RUN) dvc repro

# 2. Install if needed, run the test suite (what CI runs).
test: $(STAMP) chromium
	$(RUN) python -m pytest

# The explorer's browser test drives Debian's chromium (Playwright's own browser download is not used).
chromium:
	@command -v chromium >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium; }

# Slow tests and benchmarks too.
test-all: $(STAMP) chromium
	$(RUN) python -m pytest -m ""

# The STEM encoder's full profile (~20 min on 2 cores), measured beside the demo lake.
stem-full: $(STAMP)
	$(RUN) dvc repro stem_library
	$(RUN) python -m ingest.stem.full

# Retrain the committed models (models/: panel classifier, STEM encoder) whose code or training settings
# changed, by their own stages, and refresh the committed copies (ingest/checkpoints.py; ~20 min on 2 cores).
checkpoints: $(STAMP)
	$(RUN) dvc repro stem_library
	$(RUN) python -m ingest.checkpoints refresh

# The README's screenshots of the explorer on the lake (after make demo).
screenshots: $(STAMP) chromium
	$(RUN) python -m app.screenshots --lake data/lake --out docs

lint: $(STAMP)
	$(RUN) ruff check .
	$(RUN) mypy

install: $(STAMP)

# Reproducible installs: every package pinned by constraints.txt (`make lock` refreshes it).
$(STAMP): pyproject.toml constraints.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade "pip==26.3"
	$(VENV)/bin/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

lock:
	$(VENV)/bin/python -m pip freeze --exclude-editable --exclude figlake > constraints.txt

clean:
	rm -rf $(VENV) data/lake data/work
