# Every target creates .venv itself when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
DEMO_STAMP := $(VENV)/.installed-demo
# Milvus Lite 2.5.1 (C++ engine), the third test engine: it shares the module name with
# Milvus Lite 3, so it gets its own venv (tests/support/lite25_server.py runs its binary).
LITE25_VENV := .venv-lite25
LITE25_STAMP := $(LITE25_VENV)/.installed

.PHONY: demo test test-full lint fuzz bench bench-full bench-grouping bench-migrate bench-scifact-ingest notebook clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(DEMO_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[all]"
	touch $@

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[all,dev]"
	touch $@ $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	$(BIN)/python examples/quickstart.py

# Re-execute examples/notebook.ipynb in place: it is committed with its outputs.
notebook: $(STAMP)
	$(BIN)/python examples/execute_notebook.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

$(LITE25_STAMP):
	rm -rf $(LITE25_VENV)
	$(PYTHON) -m venv $(LITE25_VENV)
	$(LITE25_VENV)/bin/python -m pip install -q "milvus-lite==2.5.1" "setuptools<81"
	touch $@

$(LITE25_VENV): $(LITE25_STAMP)

# The official llama-index store (it pins pymilvus < 3) in its own venv, for the tests
# that read collections it made: built before the suite, so that no test worker waits
# for it. A failed build is not fatal here: those tests then skip, naming why.
LLAMA_STAMP := benchmarks/.venvs/llama_index/.ready
$(LLAMA_STAMP): | $(STAMP)
	-$(BIN)/python -c "from benchmarks.venvs import ensure_venv; print(ensure_venv('llama_index'))"

# The suite waits on Milvus far more than it computes (its 2.3.5 server tests wait for
# loads and time ticks): test files run in TEST_WORKERS processes (pytest-xdist), each
# with its own Milvus 2.3.5 server; TEST_WORKERS=0 runs them in one. Workers take whole
# files, longest first (tests/file_durations.json; xdist's own reordering, by test count,
# is off), so that the run does not end on one worker finishing a long file. 4 workers:
# 6 at nice 10 were faster here (main part 17:29) but took 39 minutes on a CI machine,
# where tests starved of CPU timed out (a bench fixture, subprocesses held to 25-30 s).
# The Milvus Lite 2.5.1 tests run alongside, in one more process, back to back (its
# server drops connections left idle, which a worker's connections are while it runs
# other files); TEST_NICE lowers the main part's priority (0: equal). Its report is
# printed after the others', and either part failing fails `make test`. TEST_ARGS go to
# the main part's pytest (e.g. TEST_ARGS="--durations=0" to refresh the durations table:
# see tests/support/file_durations.py).
# TEST_WATCHDOG: every pytest process (each worker, the lite25 run; the controller 300 s
# later) that is still running this many seconds after it started writes the stacks of
# its threads to $(HANG_DIR)/ and exits with status 1 (tests/support/hang_watchdog.py):
# a hang fails `make test` with the place it hung, well inside CI's limit. 0: off.
# A session 2.3.5 server found dead is started again and the test it took down runs once
# more (tests/support/server_deaths.py); why it died is printed from $(INCIDENT_DIR)/.
# SERVER_CASES: of a test swept over five or more values on the 2.3.5 server, how many
# of those cases `make test` runs there (the first ones; every case still runs on Milvus
# Lite 3 and Lite 2.5.1): the suite's server cases wait on loads, most of its wall time.
# `make test-full` (SERVER_CASES=all) runs every case on every engine.
TEST_WORKERS ?= 4
SERVER_CASES ?= 1
TEST_NICE ?= 0
TEST_ARGS ?=
TEST_WATCHDOG ?= 3300
LITE25_LOG ?= .lite25-tests.log
HANG_DIR := .test-hangs
INCIDENT_DIR := .test-incidents
test: lint $(LITE25_STAMP) $(LLAMA_STAMP)
	@rm -rf $(LITE25_LOG) $(HANG_DIR) $(INCIDENT_DIR); \
	export MILVUS_PLUGINS_TEST_WATCHDOG=$(TEST_WATCHDOG) MILVUS_PLUGINS_HANG_DIR="$(CURDIR)/$(HANG_DIR)" \
	  MILVUS_PLUGINS_INCIDENT_DIR="$(CURDIR)/$(INCIDENT_DIR)" MP_SERVER_CASES=$(SERVER_CASES); \
	( $(BIN)/pytest -q -m lite25 -p no:cacheprovider \
	    --basetemp="$${TMPDIR:-/tmp}/milvus-plugins-lite25-tests" > $(LITE25_LOG) 2>&1; \
	  echo "exit $$?" >> $(LITE25_LOG) ) & lite=$$!; \
	nice -n $(TEST_NICE) $(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder -m "not lite25" $(TEST_ARGS); \
	main=$$?; \
	wait $$lite; echo "== the Milvus Lite 2.5.1 tests (pytest -m lite25) =="; \
	cat $(LITE25_LOG); \
	for f in $(INCIDENT_DIR)/*.txt; do test -s "$$f" || continue; \
	  echo "== SESSION SERVER DIED: $$f (started again; the test it took down ran once more) =="; \
	  cat "$$f"; done; \
	hung=0; for f in $(HANG_DIR)/*.txt; do test -s "$$f" || continue; hung=1; \
	  echo "== HUNG: $$f (no end after $(TEST_WATCHDOG) s; its threads' stacks) =="; cat "$$f"; done; \
	test $$hung -eq 0 && test $$main -eq 0 && tail -n 1 $(LITE25_LOG) | grep -qx "exit 0"

test-full:
	$(MAKE) test SERVER_CASES=all

# The model-based test and the API type fuzz at a large budget (>= 10,000 machine steps:
# 2 adapters x 3 engines x 100 examples x up to 50 steps), a fresh seed per run unless
# MP_FUZZ_SEED is given (the seed is in each report line: rerun with it to reproduce);
# step counts go to fuzz-report.jsonl. `make test` runs the same tests derandomised.
MP_FUZZ_EXAMPLES ?= 100
MP_FUZZ_STEPS ?= 50
MP_FUZZ_TYPE_ROUNDS ?= 20
MP_FUZZ_REPORT ?= fuzz-report.jsonl
MP_FUZZ_SEED ?= $(shell date +%s)
fuzz: $(STAMP) $(LITE25_STAMP)
	MP_FUZZ_EXAMPLES=$(MP_FUZZ_EXAMPLES) MP_FUZZ_STEPS=$(MP_FUZZ_STEPS) \
	MP_FUZZ_TYPE_ROUNDS=$(MP_FUZZ_TYPE_ROUNDS) MP_FUZZ_REPORT=$(MP_FUZZ_REPORT) \
	MP_FUZZ_SEED=$(MP_FUZZ_SEED) \
	MP_TENANT_FUZZ_EXAMPLES=$(MP_FUZZ_EXAMPLES) MP_TENANT_FUZZ_STEPS=$(MP_FUZZ_STEPS) \
	$(BIN)/pytest -q tests/integration/test_state_machine.py \
		tests/integration/test_state_machine_tenants.py tests/test_api_type_fuzz.py

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run --quick

bench-full: $(STAMP)
	$(BIN)/python -m benchmarks.run --full

# Grouped vs ungrouped retrieval on chunked SciFact (~10 min embedding on 2 busy cores;
# GROUPING_DOCS=5183 for the whole corpus, ~45 min).
GROUPING_DOCS ?= 1200
bench-grouping: $(STAMP)
	$(BIN)/python -m benchmarks.grouping --docs $(GROUPING_DOCS)

# Migration of 20,000 and 100,000 langchain-milvus rows (Lite and the 2.3.5 server): peak
# RSS, wall time, SIGKILL mid-way + re-run; needs langchain-milvus (dev extra). ~15 min.
bench-migrate: $(STAMP)
	$(BIN)/python -m benchmarks.migrate_bench --engine both

# End-to-end ingest of the SciFact corpus (offline MiniLM vectors) through every system,
# official integrations included: time, peak RSS, then nDCG@10 of the 300 queries.
# 3 interleaved repetitions, a fresh process each; ~15 min on 2 cores.
SCIFACT_REPS ?= 3
bench-scifact-ingest: $(STAMP)
	$(BIN)/python -m benchmarks.scifact_ingest --reps $(SCIFACT_REPS)

clean:
	rm -rf $(VENV) $(LITE25_VENV) .mypy_cache .pytest_cache .ruff_cache
