# Two commands for a newcomer: `make demo` and `make test`. Everything else is plumbing.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
UV     := $(VENV)/bin/uv
UV_INSTALL := $(UV) pip install --quiet --system-certs --python $(PY)
UV_LOCK    := $(UV) pip compile --system-certs --python-version 3.11 --generate-hashes

DATA       ?= data
LANDING    ?= $(DATA)/landing
KEY_FILE   ?= $(DATA)/pseudonym.key
DEMO_ENTRIES ?= 200000

export EXAM_RISK_LANDING   ?= $(LANDING)
export EXAM_RISK_WAREHOUSE ?= $(DATA)/warehouse.duckdb
export EXAM_RISK_ANALYTICS ?= $(DATA)/analytics.duckdb
export EXAM_RISK_REPORTS   ?= $(DATA)/reports
export EXAM_RISK_PSEUDONYM_KEY_FILE ?= $(KEY_FILE)
# The persistent Dagster instance of the CLI, the UI and the daemon (pipelines/instance.py).
export DAGSTER_HOME ?= $(abspath .dagster_home)

.PHONY: setup demo test lock dev clean bench bench-100m bench-smoke notebook

setup: $(STAMP)

# Re-installs only when a lock or the project metadata changes. The project itself is installed
# editable: the instance settings name a class of it (pipelines/dagster.yaml), which `dg dev`,
# dagster-webserver and dagster-daemon must import whatever folder they start in.
# uv installs the lock (a fresh clone's setup took 67 s with pip, 29-31 s with uv: docs/scaling.md); it comes
# pinned by hash from requirements-bootstrap.lock, installed by the pip every venv has. It reads the
# platform's certificates (--system-certs), as pip does, so that it works behind a proxy with its own CA;
# the bytecode is compiled now, on every core, instead of by every process that imports a module.
$(STAMP): requirements-bootstrap.lock requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes --no-deps -r requirements-bootstrap.lock
	$(UV_INSTALL) --require-hashes --compile-bytecode -r requirements.lock
	$(UV_INSTALL) --no-deps -e .
	touch $(STAMP)

$(KEY_FILE):
	mkdir -p $(dir $(KEY_FILE))
	umask 077 && $(PY) -c "import secrets; print(secrets.token_hex(32))" > $(KEY_FILE)

# The demo's importers differ in a latent risk and the low-risk ones join CTPAT (--selection): the
# claims table then shows why comparing each importer with itself matters.
demo: setup $(KEY_FILE)
	$(PY) -m pipelines generate --out $(LANDING) --entries $(DEMO_ENTRIES) --seed 7 --selection --disruptions
	$(PY) -m pipelines run
	$(PY) -m pipelines claims
	@echo "Runs, materializations and checks: make dev, then http://127.0.0.1:3000 (instance $(DAGSTER_HOME))"

test: setup
	$(PY) -m pytest

# The performance benchmark (docs/scaling.md): 10 M entries, 3 repetitions, bench/results/latest.json.
BENCH_ENTRIES ?= 10000000
BENCH_REPEAT  ?= 3
bench: setup
	$(PY) -m pipelines bench --entries $(BENCH_ENTRIES) --repeat $(BENCH_REPEAT) --data $(DATA)/bench

# generate and one run at 10 M and 100 M entries over 30 months, with peak memory: bench/results/scale.json.
# Not in CI: about 31 minutes on 2 cores and 45 GB of free disk under data/bench-scale (deleted as it goes;
# measured in docs/scaling.md).
bench-100m: setup
	$(PY) -m pipelines bench-scale --sizes 10000000 100000000 --start 2024-01 --months 30 --data $(DATA)/bench-scale

# Every part of the benchmark on 200 k entries over 3 months, once: keeps it from rotting (CI).
bench-smoke: setup
	$(PY) -m pipelines bench --entries 200000 --months 3 --repeat 1 --data $(DATA)/bench --out bench/results/smoke.json

# The UI and the daemon (schedules, sensors) on the instance every run is recorded on: the demo's
# runs are there. The instance is made (with pipelines/dagster.yaml's settings) if it does not exist.
dev: setup $(KEY_FILE)
	$(PY) -c "from pipelines.instance import dagster_home; dagster_home()"
	VIRTUAL_ENV=$(abspath $(VENV)) $(VENV)/bin/dg dev

# The analyst notebook in JupyterLab (its own lock: JupyterLab is not needed to run or test the pipeline).
# The .ipynb is paired with the percent script beside it (jupytext), so either can be edited.
NOTEBOOK_STAMP := $(VENV)/.notebook-installed
$(NOTEBOOK_STAMP): requirements-notebook.lock $(STAMP)
	$(UV_INSTALL) --require-hashes --compile-bytecode -r requirements-notebook.lock
	touch $(NOTEBOOK_STAMP)

notebook: $(NOTEBOOK_STAMP)
	EXAM_RISK_ANALYTICS=$(abspath $(EXAM_RISK_ANALYTICS)) $(VENV)/bin/jupyter lab notebooks/analyst_questions.ipynb

# Re-pin the dependencies (uv, which setup installs; the three locks are committed).
lock:
	echo uv | $(UV_LOCK) - -o requirements-bootstrap.lock
	$(UV_LOCK) pyproject.toml --extra dev -o requirements.lock
	$(UV_LOCK) pyproject.toml --extra dev --extra notebook -o requirements-notebook.lock

clean:
	rm -rf $(DATA) .pytest_cache .dagster_home
