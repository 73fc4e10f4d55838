# make run   - the service on the offline engine at http://127.0.0.1:8000
# make test  - every test
# Both create and fill .venv themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000
REQS   := requirements.txt requirements-dev.txt requirements-local.txt

.PHONY: run test bench bench-handler package clean

$(STAMP): $(REQS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(addprefix -r ,$(REQS))
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/chalice local --stage local --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest -q tests

bench: $(STAMP)
	$(BIN)/python scripts/bench_engine.py

bench-handler: $(STAMP)
	$(BIN)/python scripts/bench_handler.py

package: $(STAMP)
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(BIN)/chalice package --stage prod out/

clean:
	rm -rf $(VENV) out .pytest_cache
