# The course's commands. `make lab` and `make test` are the two a newcomer needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup lab test lint test-fast test-worker-faults notebooks book bench lock clean release collect grade report export

setup: $(STAMP)

# Idempotent: the stamp is newer than the pins unless they changed, so a second run is a no-op.
$(STAMP): requirements.txt requirements.lock pyproject.toml tools/pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.txt -c requirements.lock
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e . -e tools
	@touch $@

# COURSE=dir: the nbgrader course Formgrader opens (default classroom/class after `make release`, else classroom/sample)
lab: setup
	$(BIN)/python tools/lab.py $(if $(COURSE),--course "$(COURSE)")

notebooks: setup
	$(BIN)/python tools/build_notebooks.py

# The course website in build/book/ (tools/build_book.py; BOOK_ARGS="--lesson 01" or "--fresh").
book: setup
	$(BIN)/python tools/build_book.py $(BOOK_ARGS)

test: setup lint
	$(BIN)/python -m pytest -q --durations=25 $(PYTEST_ARGS)

# The killed-worker batch alone (tests/test_autograde_killed_worker.py, also part of make test).
test-worker-faults: setup
	$(BIN)/python -m pytest -q -m worker_faults $(PYTEST_ARGS)

# ruff's configuration is in pyproject.toml; `ruff check --fix .` repairs most findings.
lint: setup
	$(BIN)/ruff check --quiet .

test-fast: setup lint
	$(BIN)/python -m pytest -q -m "not slow and not browser" $(PYTEST_ARGS)

bench: setup
	$(BIN)/python tools/bench.py $(BENCH_ARGS)

# Grading (autograde/README.md): make release COURSE_LANG=ja, make collect ZIP=download.zip, make grade.
# The course language is only what you say: COURSE_LANG=ja (or LANG=ja on make's command line), else
# the released course's own setting. The shell's locale (LANG=en_US.UTF-8 in the environment) is never
# read, so a terminal's language cannot decide a course's.
GIVEN_LANG  = $(or $(COURSE_LANG),$(if $(filter command line,$(origin LANG)),$(LANG)))
AUTOGRADE   = LC_ALL=C.UTF-8 $(BIN)/python -m autograde $(if $(COURSE),--course "$(COURSE)")

release: setup
	$(AUTOGRADE) release $(if $(GIVEN_LANG),--lang '$(GIVEN_LANG)') $(if $(ASSIGNMENT),--assignment $(ASSIGNMENT))

collect: setup
	@test -n "$(ZIP)" || { echo "usage: make collect ZIP=lms-download.zip (or a folder) [ASSIGNMENT=01_scalar_derivatives]"; exit 2; }
	$(AUTOGRADE) collect "$(ZIP)" $(if $(ASSIGNMENT),--assignment $(ASSIGNMENT))

grade: setup
	$(AUTOGRADE) grade $(if $(STUDENT),--student "$(STUDENT)") $(if $(WORKERS),--workers $(WORKERS)) \
		$(if $(SCHEDULER),--scheduler $(SCHEDULER)) \
		$(if $(FORCE),--force) $(if $(TIMEOUT),--timeout $(TIMEOUT)) $(if $(UNSAFE),--unsafe-no-sandbox) \
		$(if $(GIVEN_LANG),--lang '$(GIVEN_LANG)')

report: setup
	$(AUTOGRADE) report $(if $(ASSIGNMENT),--assignment $(ASSIGNMENT))

export: setup
	$(AUTOGRADE) export --format $(or $(FORMAT),csv)

lock: setup
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^torch==' > requirements.lock.tmp
	@{ echo '# Full lock of the course environment (constraints for `pip install -r requirements.txt -c requirements.lock`).'; \
	   echo '# Regenerate with `make lock` after changing requirements.txt.'; \
	   cat requirements.lock.tmp; echo 'torch==2.13.0'; } > requirements.lock && rm requirements.lock.tmp

clean:
	rm -rf $(VENV) build .pytest_cache
