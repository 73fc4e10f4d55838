# make run   - the service on the offline engine at http://127.0.0.1:8000
#              (waitress via chalicelib/serve/; docs/operations.md)
# make dev   - the same app under `chalice local` (autoreload; development only)
# make test  - every test
# make check - the fast loop: lint, format, types, unit and route tests
# All create and fill .venv themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000
RUN_FLAGS ?=
REQS   := requirements.txt requirements-dev.txt requirements-local.txt requirements-e2e.txt
# The Lambda runtime's Python, for `make package` only (Chalice builds for
# the runtime matching the Python it runs on; 3.13 takes current manylinux
# wheels). Debian's python3.13 if installed, else pyenv's; LAMBDA_PYTHON=...
# picks another. The local .venv stays on $(PYTHON) (3.11): the offline
# engine's wheels (dlib-bin) are built for it.
LAMBDA_PYTHON ?= $(firstword $(wildcard /usr/bin/python3.13 /usr/local/bin/python3.13 \
	$(HOME)/.pyenv/versions/3.13*/bin/python3.13))
LAMBDA_VENV := .venv-lambda
# Browser tests drive Debian's Chromium (Playwright's own download is not used).
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run dev load-test test check lint e2e-deps e2e fonts liveness bench bench-handler bench-documents bench-ips \
	synth-documents bench-search calibrate-search package provision reconcile verify-audit openapi fuzz clean

$(STAMP): $(REQS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# The Lambda's requirements alone first: hash-checked (requirements.txt).
	$(BIN)/python -m pip install -q --require-hashes -r requirements.txt
	$(BIN)/python -m pip install -q $(addprefix -r ,$(filter-out requirements.txt,$(REQS)))
	touch $(STAMP)

# The capture page's Face Liveness island (issue 20; docs/web-page.md): npm ci
# from web/package-lock.json, then web/build.mjs bundles it (esbuild) with its
# WASM and face model into chalicelib/static/liveness/ (git-ignored).
NPM      ?= npm
LIVENESS := chalicelib/static/liveness/BUILT
$(LIVENESS): web/package-lock.json web/build.mjs web/face-model.mjs $(wildcard web/src/*.js)
	cd web && $(NPM) ci --no-audit --no-fund --loglevel=error
	node web/build.mjs

liveness: $(LIVENESS)


$(LAMBDA_VENV)/.installed: requirements.txt requirements-dev.txt
	@test -n "$(LAMBDA_PYTHON)" || { echo "make package needs Python 3.13 (the Lambda runtime):" \
	  "apt-get install python3.13, pyenv install 3.13, or LAMBDA_PYTHON=/path/to/python3.13" >&2; exit 1; }
	test -x $(LAMBDA_VENV)/bin/python || $(LAMBDA_PYTHON) -m venv $(LAMBDA_VENV)
	$(LAMBDA_VENV)/bin/python -m pip install -q --upgrade pip
	$(LAMBDA_VENV)/bin/python -m pip install -q --require-hashes -r requirements.txt
	$(LAMBDA_VENV)/bin/python -m pip install -q "$$(grep '^chalice==' requirements-dev.txt)" "$$(grep '^boto3' requirements-dev.txt)"
	touch $@

run: $(STAMP) $(LIVENESS)
	$(BIN)/python -m chalicelib.serve --host $(HOST) --port $(PORT) $(RUN_FLAGS)

dev: $(STAMP) $(LIVENESS)
	$(BIN)/chalice local --stage local --host $(HOST) --port $(PORT) $(RUN_FLAGS)

load-test: $(STAMP)
	$(BIN)/python -m scripts.perf.load_test

test: $(STAMP) $(LIVENESS) e2e-deps fonts
	$(BIN)/python -m pytest -q tests

# No sudo, no Chromium, no network: ruff, mypy, then the unit and route tests.
check: lint
	$(BIN)/python -m pytest -q tests/unit tests/routes

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check chalicelib app.py
	$(BIN)/mypy

e2e-deps:
	command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q chromium; }

e2e: $(STAMP) $(LIVENESS) e2e-deps
	$(BIN)/python -m pytest -q tests/system/browser tests/routes/test_web_page_routes.py

# OCR-B for the synthetic documents' MRZ (tests/support/document_images.py
# falls back to DejaVu Sans Mono without it).
OCR_B  := /usr/share/fonts/opentype/ocr-b/OCRB.otf
fonts:
	test -f $(OCR_B) || { $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q fonts-ocr-b; } || \
	  echo "fonts-ocr-b not installed: synthetic MRZs use DejaVu Sans Mono"

# bench: the face engine before and after issue 8 (and the naive pipeline),
# the degradation sweep (docs/offline-engine.md; needs ../shared/faces), then
# document reading.
bench: $(STAMP) fonts
	$(BIN)/python -m scripts.perf.bench_engine
	$(BIN)/python -m scripts.eval.bench_quality
	$(BIN)/python -m scripts.perf.bench_documents

# Document reading alone: accuracy on ../shared/documents and a synthetic
# set, reading latency, POST /ips with and without reading.
bench-documents: $(STAMP) fonts
	$(BIN)/python -m scripts.perf.bench_documents

# POST /ips through two `make run` servers (reading on / off, free ports),
# the reader and the face engine alone, side by side, with the load average
# (issue 21; docs/document-reading.md). Needs ../shared.
bench-ips: $(STAMP) fonts
	$(BIN)/python -m scripts.perf.bench_ips

# A labelled synthetic set on disk (images + manifest.csv) to look at.
synth-documents: $(STAMP) fonts
	$(BIN)/python -m scripts.eval.synth_documents --out artifacts/synthetic-documents

bench-handler: $(STAMP)
	$(BIN)/python -m scripts.perf.bench_handler

openapi: $(STAMP)
	$(BIN)/python -m scripts.ops.build_openapi

fuzz: $(STAMP)
	SCHEMATHESIS_MAX_EXAMPLES=500 $(BIN)/python -m pytest -q -s tests/system/test_schemathesis.py

# STAGE=dev|prod (default prod). The SAM template includes the stage's face
# collection (.chalice/collection-$(STAGE).json, docs/enrolment.md).
STAGE ?= prod
package: $(LAMBDA_VENV)/.installed $(LIVENESS)
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(LAMBDA_VENV)/bin/chalice package --stage $(STAGE) \
	  --merge-template .chalice/collection-$(STAGE).json out/

# The stage's Rekognition collection and records table for `chalice deploy` (idempotent).
# TENANTS="acme globex": only these tenants' collections (default: every
# tenant of the stage's SSM mapping, else "default").
TENANT_ARGS = $(foreach t,$(TENANTS),--tenant $(t))
provision: $(STAMP)
	$(BIN)/python -m scripts.ops.provision_collection --stage $(STAGE) $(TENANT_ARGS)
	$(BIN)/python -m scripts.ops.provision_records --stage $(STAGE)

# Unassociated faces and empty users left by interrupted enrolments, per
# tenant collection (chalicelib/enrolment/rekognition.py; run it daily).
reconcile: $(STAMP)
	$(BIN)/python -m scripts.ops.reconcile_collections --stage $(STAGE) $(TENANT_ARGS)

# Every audit trail under IPS_DATA_DIR (docs/records.md); ANCHOR=heads.jsonl
# also checks an earlier export (python -m scripts.ops.verify_audit --export-heads).
verify-audit: $(STAMP)
	$(BIN)/python -m scripts.ops.verify_audit $(if $(ANCHOR),--anchor $(ANCHOR))

# Enrolment search: synthetic scale benchmark, and the threshold calibration
# on ../shared/faces (docs/enrolment.md).
bench-search: $(STAMP)
	$(BIN)/python -m scripts.perf.bench_search

calibrate-search: $(STAMP)
	$(BIN)/python -m scripts.eval.calibrate_search

clean:
	rm -rf $(VENV) $(LAMBDA_VENV) out .pytest_cache web/node_modules chalicelib/static/liveness
