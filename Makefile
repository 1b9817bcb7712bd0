# evalkit — two commands do all set-up: `make review` and `make test`.
# Only python3 (>= 3.11) and make are needed; everything else comes from the package registries.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
KERNEL := evalkit
STAMP  := $(VENV)/.installed
JOBS   ?= 2
# pytest-xdist workers; a test file stays on one worker (--dist loadfile), so its module
# fixtures (real reviews, synthetic returns) are built once, not once per worker; files are
# handed out longest first (tests/conftest.py), not by their number of tests
TEST_JOBS ?= 2

.PHONY: help setup bytecode review test test-slow lab bench clean-reports

help:
	@echo "make review     set up .venv, then run every phase review on the bundled default data"
	@echo "make test       set up .venv, then run the test suite"
	@echo "make lab        open JupyterLab on the project"
	@echo "make bench      run the benchmarks and write bench/results.md"

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "evalkit needs Python >= 3.11; found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	@echo "evalkit: installing into $(VENV) (about two minutes the first time) ..."
	$(PY) -m pip install --quiet -e ".[test]"
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (evalkit)" > /dev/null
	@touch $(STAMP)

setup: $(STAMP)

# evalkit's bytecode, written once: where the environment forbids writing it on import
# (PYTHONDONTWRITEBYTECODE), every process — each review kernel, each test worker — would compile
# the source again. A file edited later is recompiled here (its stale bytecode is never used).
bytecode: setup
	@$(PY) -m compileall -q src

review: bytecode
	$(VENV)/bin/evalkit review --all --jobs $(JOBS)

# mypy (~15 s from a fresh clone) checks types beside the suite, which leaves part of two cores
# idle (kernels starting, browsers, subprocesses waited on); its report is printed after the
# suite's, and either one failing fails the target.
test: bytecode
	$(VENV)/bin/ruff check src
	$(VENV)/bin/ruff format --check src
	@echo "$(VENV)/bin/mypy src  (beside the test suite; report below)"
	@nice -n 19 $(VENV)/bin/mypy src > $(VENV)/mypy.log 2>&1 & typing=$$!; \
	$(PY) -m pytest -q -m "not slow" -n $(TEST_JOBS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS); tests=$$?; \
	wait $$typing; typed=$$?; echo "mypy src:"; cat $(VENV)/mypy.log; \
	test $$tests -eq 0 && test $$typed -eq 0

test-slow: bytecode
	$(PY) -m pytest -q -m slow $(PYTEST_ARGS)

lab: setup
	$(VENV)/bin/jupyter lab --notebook-dir=.

bench: setup
	$(PY) bench/run.py

clean-reports:
	rm -rf reports
