# smap_hybrid: every target sets itself up (virtual environment + pinned dependencies).
#   make demo   run the whole pipeline end to end on the embedded default (twin) data
#   make test   run every test: package/notebook sync, nbdev_test, pytest, the book build
#   make experiments   the papermill batch of chapter 19 on the twin default (not part of the test command)
PYTHON ?= python3
VENV   := .venv
BIN    := $(abspath $(VENV))/bin
STAMP  := $(VENV)/.installed
export PATH := $(BIN):$(PATH)
export PYTHONHASHSEED := 0
# compiled modules are cached (where the environment turns that off, every process of the
# test command recompiled the package's modules: about 0.25 s each, hundreds of processes).
# The install compiles nothing (--no-compile): of the ~18 000 modules it unpacks, the first
# process to import one compiles it once (~4 600 in `make test`, ~10 s) instead of pip
# compiling all of them (~60 s of the install)
export PYTHONDONTWRITEBYTECODE :=
export MPLBACKEND := Agg

.PHONY: demo test install lint export-check nbtest pytest pytest-core pytest-book book book-checked chromium bench experiments clean

$(STAMP): setup.py settings.ini constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip setuptools wheel
	$(BIN)/python -m pip install -q --no-compile -c constraints.txt -e ".[dev,cluster,download]"
	touch $@

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/smap-hybrid demo --out _demo

test: $(STAMP) lint export-check nbtest
	OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 $(MAKE) --no-print-directory -j2 book-checked pytest-core

# code within 100 columns (notebooks, tests, benchmarks; tests/test_style.py checks the generated package)
lint: $(STAMP)
	$(BIN)/ruff check

# the package must be exactly what the notebooks export
export-check: $(STAMP)
	$(BIN)/nbdev_export
	@if git rev-parse --git-dir >/dev/null 2>&1 && [ -n "$$(git status --porcelain -- smap_hybrid)" ]; then \
	  git status --porcelain -- smap_hybrid; \
	  echo "smap_hybrid/ is out of date with nbs/: run nbdev_export and commit both"; exit 1; fi

# two notebooks at a time, one math thread each (torch/OpenMP and numba): no oversubscription of the cores
# (the network's precision is forced both ways in chapters 10, 13, 14 and tests/test_precision.py)
# nbdev_test through _ext/nbtest.py: the same function and options, and each passing notebook's
# outputs kept in _build/executed, so the book renders a chapter the tests just ran instead of
# running it again (a chapter changed since, one with interactive plots and the front page are
# executed by the book as before: _ext/nbtest.py says why). The book also
# reuses what the tests computed (_build/cache, the small batch of chapter 19); the tests never
# reuse an earlier run's, so they always test the code as it is
nbtest: $(STAMP)
	rm -rf _build/cache _build/experiments_small _build/executed
	OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 $(BIN)/python _ext/nbtest.py --n_workers 2 --timing


pytest: $(STAMP)
	$(BIN)/python -m pytest -q tests

# `make test` runs the tests that do not need the built book beside the book build (one math thread each, one per core);
# the book's own tests and the browser start as soon as the book is built, beside the rest of pytest-core
BOOK_TESTS := tests/test_book.py tests/test_browser.py
# (two workers, a test file each: the cores the book leaves idle once it is built are used too)
pytest-core: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile tests $(addprefix --ignore=,$(BOOK_TESTS))

pytest-book: $(STAMP)
	$(BIN)/python -m pytest -q $(BOOK_TESTS)

book-checked: book chromium
	$(MAKE) --no-print-directory pytest-book

# Debian's chromium, for the browser test of the built book: installed when missing
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
chromium:
	@command -v chromium >/dev/null 2>&1 || { echo "installing Debian's chromium for the browser test"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

book: $(STAMP)
	$(BIN)/jupyter-book build . --warningiserror --keep-going

bench: $(STAMP)
	$(BIN)/python -m bench

# the loop-mode x scale grid (hybrid and the network without the WBM) on the twin default, CPU settings;
# rerun to continue an interrupted batch; `make book` then shows its table in chapter 19
experiments: $(STAMP)
	$(BIN)/smap-hybrid experiments --out _runs/experiments $(EXPERIMENT_ARGS)

clean:
	rm -rf _build _demo .pytest_cache
