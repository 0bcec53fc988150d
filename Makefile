# The commands of README.md. Each installs what it needs first: `make app` only the Python
# packages that serving needs; `make test` also Debian's Chromium for the browser tests.
PY ?= python3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PORT ?= 8501
ADDRESS ?= 127.0.0.1

.PHONY: setup browser app test lint

setup:
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .

browser:
	@command -v chromium >/dev/null 2>&1 || \
	  ($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium >/dev/null)

# Listens on $(ADDRESS) only (this machine); `make app ADDRESS=0.0.0.0` serves the network
# (README, "Serving a class").
# MALLOC_ARENA_MAX=2: every session runs in its own thread, and glibc's default of one
# memory arena per thread keeps freed memory per arena (server RSS grows with sessions).
app: setup
	MALLOC_ARENA_MAX=2 $(PY) -m streamlit run app.py --server.port $(PORT) --server.address $(ADDRESS)

test: setup browser
	$(PY) -m ruff check .
	$(PY) -m pytest -q

lint:
	$(PY) -m ruff check .
