# The course's commands. Quick start: `make lab` (set up, build, open JupyterLab) and
# `make test`. Everything runs from the project's own virtual environment (.venv).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FIRST_NOTEBOOK := notebooks/01_detect_staleness.ipynb

# Inputs of the incident warehouse: rebuilt when any of them changes.
WAREHOUSE := data/warehouse.duckdb
WAREHOUSE_INPUTS := $(wildcard data/scenario.json data/raw/*.csv data/landing/*/*.csv) \
	$(wildcard data/incidents/*/scenario.json data/incidents/*/raw/*.csv data/incidents/*/landing/*/*.csv) \
	$(shell find dbt_project -type f \( -name '*.sql' -o -name '*.yml' \) -not -path '*/target/*' 2>/dev/null) \
	$(wildcard wt06/*.py)

# Jupyter refuses to run as root unless told; containers and CI machines often are root.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

export DO_NOT_TRACK := 1
export PLOOMBER_STATS_ENABLED := false
export PLOOMBER_VERSION_CHECK_DISABLED := true

.PHONY: help setup lab warehouse reset data release export fixtures grade feedback formgrade roster report export-grades test test-full lint bench docs-images clean

help:  ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup: $(STAMP)  ## create .venv with the pinned packages, the course package and the grader

# Three pinned sets: what students run (requirements.txt), what grading adds
# (grader/requirements.txt), what tests and development add (requirements-dev.txt). The
# student export has only the first and no grader/, so both lists are read off the disk.
REQUIREMENTS := $(wildcard requirements.txt grader/requirements.txt requirements-dev.txt)
PACKAGES := . $(if $(wildcard grader/pyproject.toml),grader)

$(STAMP): $(REQUIREMENTS) $(addsuffix /pyproject.toml,$(PACKAGES))
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check $(addprefix -r ,$(REQUIREMENTS))
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps $(addprefix -e ,$(PACKAGES))
	touch $@

$(WAREHOUSE): $(STAMP) $(WAREHOUSE_INPUTS)
	$(BIN)/python -m wt06 warehouse

warehouse: $(STAMP)  ## (re)build the incident warehouse (and the practice incident's, the drills') with real dbt runs
	$(BIN)/python -m wt06 warehouse

reset: $(STAMP)  ## throw away the notebooks' working copies and rebuild the warehouse
	$(BIN)/python -m wt06 warehouse --reset

lab: $(WAREHOUSE)  ## set up, build the warehouse and open JupyterLab on the first notebook
	$(BIN)/jupyter lab $(ALLOW_ROOT) $(FIRST_NOTEBOOK)

data: $(STAMP)  ## regenerate the committed CSVs of the canonical scenario and the public incidents
	$(BIN)/python -m wt06 scenario

release: $(STAMP)  ## regenerate the student notebooks/ (nbgrader) and the practice incident's expected results
	$(BIN)/wt06-grade release

export: $(STAMP)  ## write the student-only course (the public repository) to DEST=<folder>
	@test -n "$(DEST)" || { echo "usage: make export DEST=<a folder outside this repository>" >&2; exit 2; }
	$(BIN)/wt06-grade export "$(abspath $(DEST))"

fixtures: $(WAREHOUSE)  ## fill grader/submitted/ with the rehearsal class (the test suite's fixtures)
	$(BIN)/python -m wt06_grading.definition.rehearsal grader/submitted

# `make grade JOBS=2` grades on two local worker processes (Dask); CLUSTER=tcp://HOST:8786
# sends the work to a running Dask scheduler instead; STUDENT=alice (or alice,bob) grades
# just those, into the existing gradebook and table; FORCE=1 regrades everyone (otherwise
# only what is new, changed or missing from the gradebook is graded). TIMEOUT is the
# per-cell limit (s); NOTEBOOKS=01_detect_staleness,... grades a subset (the other
# notebooks' grades stay); SANDBOX=none grades without the sandbox (see grader/README.md,
# "Grading safely"). The gradebook is grader/gradebook.db unless WT06_GRADEBOOK_URL names
# another (postgresql+psycopg://...). wt06-grade's exit status: 0 clean, 1 some submission
# needs a look, 2 nothing graded (the input is wrong), 3 the grader failed (nothing of it
# written). make turns any non-zero status into its own 2, so the recipe prints it first.
grade: $(WAREHOUSE)  ## autograde grader/submitted/ in the sandbox (JOBS, CLUSTER, STUDENT, NOTEBOOKS): gradebook, table, feedback
	@$(BIN)/wt06-grade grade --jobs $(or $(JOBS),1) \
		--timeout $(or $(TIMEOUT),60) --notebooks '$(NOTEBOOKS)' \
		--cluster '$(CLUSTER)' --student '$(STUDENT)' $(if $(FORCE),--force) \
		$(if $(filter none,$(SANDBOX)),--no-sandbox); \
	status=$$?; test $$status -eq 0 || echo "make grade: wt06-grade exited with status $$status \
	(1: some submissions need a look; 2: nothing graded, the input is wrong; 3: the grader failed)" >&2; \
	exit $$status

feedback: $(STAMP)  ## write the feedback pages and grades.csv again from the gradebook (after grading by hand; STUDENT=...)
	$(BIN)/wt06-grade feedback --student '$(STUDENT)'

# Formgrader on this course (the gradebook of WT06_GRADEBOOK_URL or grader/gradebook.db),
# in a Jupyter server started in grader/, opening on the formgrader page (PORT=8888).
formgrade: $(STAMP)  ## open nbgrader's formgrader on this course, to grade the postmortems by hand
	cd grader && ../$(BIN)/jupyter server $(ALLOW_ROOT) --ServerApp.default_url=/formgrader \
		$(if $(PORT),--ServerApp.port=$(PORT))

roster: $(STAMP)  ## import the class list from the LMS's export: FILE=<Canvas or Moodle gradebook export CSV> (MATCH=column)
	@test -n "$(FILE)" || { echo "usage: make roster FILE=<the CSV Canvas (Grades > Export) or Moodle (Grades > Export > Plain text file) wrote>" >&2; exit 2; }
	$(BIN)/wt06-grade roster "$(abspath $(FILE))" $(if $(MATCH),--match '$(MATCH)')

report: $(STAMP)  ## write grader/report.html: the class analytics page (scores, pass rates, failures, time)
	$(BIN)/wt06-grade report

export-grades: $(STAMP)  ## write grader/grades-<lms>.csv for LMS=canvas or moodle from the gradebook and the roster
	@test -n "$(filter canvas moodle,$(LMS))" || { echo "usage: make export-grades LMS=canvas|moodle" >&2; exit 2; }
	$(BIN)/wt06-grade export-grades --lms $(LMS) $(if $(INCLUDE_REMOVED),--include-removed)

# Two lanes: the fast tests first (a broken import or a wrong table fails here in a couple of
# minutes; a fast test over 20 s fails it too: mark it slow or make it fast), then the slow
# ones (notebooks, grading, the attack suite, the Dask scale test, PostgreSQL, the browser,
# Binder). Together they are every test but the release-depth ones (`make test-full`).
# Both lanes run on TEST_WORKERS=N pytest-xdist workers (default 2, one per core; 0: one
# process), tests that share a module's fixture on one worker; each prints its 25 slowest
# tests. What the tests build (warehouses, grading incidents, reference results) is cached
# by its inputs' digest in .pytest_cache/d/wt06 and reused by the next lane and run.
test: $(STAMP)  ## run every test (the fast lane, then the slow one) on both cores
	$(BIN)/python -m pytest -n $(or $(TEST_WORKERS),2) --dist loadgroup --durations=25 -m "not slow and not full"
	$(BIN)/python -m pytest -n $(or $(TEST_WORKERS),2) --dist loadgroup --durations=25 -m "slow and not full"

# `make test` at release depth: the same lanes, and the tests marked `full` (the notebooks on
# a third incident) with the slow ones.
test-full: $(STAMP)  ## every test at release depth (make test and the notebooks on a third incident)
	$(BIN)/python -m pytest -n $(or $(TEST_WORKERS),2) --dist loadgroup --durations=25 -m "not slow and not full"
	$(BIN)/python -m pytest -n $(or $(TEST_WORKERS),2) --dist loadgroup --durations=25 -m "slow or full"

# Python (the course package, the grader, tests, bench, the instructor notebooks) with
# ruff; dead code with vulture (tools/dead_code.py: the notebooks' calls count, the
# allow-list says who else calls a name); the dbt project's SQL with sqlfluff (settings in
# pyproject.toml and dbt_project/.sqlfluff).
lint: $(STAMP)  ## lint the Python code, the instructor notebooks, dead code and the dbt project's SQL
	$(BIN)/ruff check .
	$(BIN)/python tools/dead_code.py
	$(BIN)/sqlfluff lint --disable-progress-bar dbt_project/models dbt_project/tests dbt_project/analyses

# `make bench QUICK=1` is the smoke run the test suite makes (one run of each, a class of 3).
bench: $(WAREHOUSE)  ## benchmark dbt, the build, notebooks, grading (one, a class), memory, the monitor
	$(BIN)/python bench/run.py $(if $(QUICK),--quick)

docs-images: $(WAREHOUSE)  ## regenerate the charts in docs/images from the instructor notebooks
	$(BIN)/python docs/make_images.py

clean:  ## remove the built warehouse and scratch files (keeps .venv)
	rm -rf $(WAREHOUSE) data/work dbt_project/target dbt_project/logs
