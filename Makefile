# stockwatch: `make run` starts the demo, `make test` runs every check. Both install as needed.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck importcheck pytest bench install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	# The browser tests drive Debian's Chromium; Playwright never downloads a browser here.
	test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)
	# A CJK font (1.6 MB) so that the browser tests' screenshots show the zh-CN pages, not boxes.
	fc-list :lang=zh 2>/dev/null | grep -q . || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei)
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/stockwatch demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

importcheck: $(STAMP)
	$(BIN)/lint-imports

# --dist loadfile: a test file runs on one worker, in order (the browser walks through a shop
# test by test); split across workers, half of them found a shop nobody had walked yet.
pytest: $(STAMP)
	$(BIN)/pytest -n auto --dist loadfile -p no:cacheprovider --cov=stockwatch.core --cov-report=term-missing:skip-covered

test: lint typecheck importcheck pytest

bench: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
