# coldtrace — run `make help` for the targets.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
BIN      := $(CURDIR)/bin
GO       ?= go
FUZZTIME ?= 20s
ADDR     ?= 127.0.0.1:8080
DATA     ?= ./data
# MinIO, the S3 server the blob-store tests run against (a test server only,
# never linked; the last published version).
MINIO_VERSION := v0.0.0-20260212201848-7aac2a2c5b7c
MINIO    := $(BIN)/minio
# immudb, the baseline of the ingest benchmark (a benchmark server only,
# never linked). Its go.mod has replace directives, so `go install
# module@version` refuses it: the module is downloaded and built in a
# temporary copy, with its own go.mod and go.sum.
IMMUDB_VERSION := v1.11.1
IMMUDB   := $(BIN)/immudb

.PHONY: help build run test test-short bench lint fuzz clean clean-bench minio immudb browser-deps report-deps bench-deps epcis-deps

# Debian packages: the CJK TrueType font that PDF reports embed and
# poppler-utils that the report tests render PDFs with; PostgreSQL 15, the
# baseline of the trace benchmark. Installed when missing; with CI=true a
# failed install fails the run.
REPORT_PKGS := fonts-lxgw-wenkai poppler-utils
BENCH_PKGS  := postgresql
define apt_install
missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
if [ -n "$$missing" ]; then \
  echo "installing$$missing"; sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
  if ! { $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing; }; then \
    if [ "$${CI:-}" = true ]; then echo "FAILED to install$$missing" >&2; exit 1; fi; \
    echo "could not install$$missing: the tests and benchmarks that need them will skip" >&2; \
  fi; \
fi
endef

help: ## show the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## build bin/coldtrace (trimmed paths, version stamped)
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/coldtrace ./cmd/coldtrace

run: build report-deps ## serve on $(ADDR) with data in $(DATA); prints what to open and the keys (installs the PDF font as test does)
	$(BIN)/coldtrace serve --demo --addr $(ADDR) --data $(DATA)

test: minio browser-deps report-deps epcis-deps ## every test, with the race detector, against real badger, real servers and Debian's chromium
	$(GO) vet ./...
	COLDTRACE_MINIO_BIN=$(MINIO) $(GO) test -race -count=1 -timeout 60m ./...

test-short: ## the fast tests only
	$(GO) test -short -count=1 ./...

# The go test timeout of make bench; a 10 M-record query ledger
# (COLDTRACE_BENCH_RECORDS=10M) takes about 40 minutes to build once.
BENCH_TIMEOUT ?= 60m

bench: minio immudb report-deps bench-deps ## the performance figures of README's table, each next to its baseline (the query benchmark's ledger is built once into testout/benchdata; COLDTRACE_BENCH_RECORDS=10M BENCH_TIMEOUT=180m for a 10 M-record one)
	COLDTRACE_MINIO_BIN=$(MINIO) COLDTRACE_IMMUDB_BIN=$(IMMUDB) $(GO) test -run '^$$' -bench . -benchtime 1x -timeout $(BENCH_TIMEOUT) ./...

report-deps: ## install the CJK font (fonts-lxgw-wenkai) and poppler-utils when missing
	@$(call apt_install,$(REPORT_PKGS))

bench-deps: ## install PostgreSQL (the trace benchmark's baseline) when missing
	@$(call apt_install,$(BENCH_PKGS))

minio: $(MINIO) ## install the MinIO test server into bin/ when it is missing (about three minutes)

$(MINIO):
	GOBIN=$(BIN) $(GO) install github.com/minio/minio@$(MINIO_VERSION)

immudb: ## build the immudb server (the ingest benchmark's baseline) into bin/ when it is missing (several minutes)
	@[ -x $(IMMUDB) ] || { \
	  tmp=$$(mktemp -d); trap 'chmod -R u+w '"$$tmp"'; rm -rf '"$$tmp" EXIT; \
	  src=$$(cd $$tmp && $(GO) mod download -json github.com/codenotary/immudb@$(IMMUDB_VERSION) | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p'); \
	  if [ -n "$$src" ] && cp -r $$src $$tmp/immudb && chmod -R u+w $$tmp/immudb && \
	     (cd $$tmp/immudb && $(GO) build -trimpath -buildvcs=false -o $(IMMUDB) ./cmd/immudb); then echo "built $(IMMUDB)"; \
	  elif [ "$${CI:-}" = true ]; then echo "FAILED to build immudb $(IMMUDB_VERSION)" >&2; exit 1; \
	  else echo "could not build immudb: BenchmarkIngestVsImmudb will skip" >&2; fi; }

# Debian packages of the browser tests (cmd/coldtrace/browser_test.go): the
# browser, a CJK font so that screenshots show Chinese, and zbarimg to read
# the QR codes back. Installed when missing; in CI a missing one fails.
BROWSER_PKGS := chromium fonts-wqy-zenhei zbar-tools

browser-deps: ## install Debian's chromium, a CJK font and zbar-tools when missing
	@$(call apt_install,$(BROWSER_PKGS))

# GS1's JavaScript EPCIS SDK, the independent validator and event-hash
# oracle of ledger/epcis and api (npm, into testout/node; never committed).
# Its dependency "fs" names a placeholder package the registry may not serve:
# node's own fs module is what epcis2.js loads, so an empty local package
# stands in. With CI=true a failed install fails the run (so do the tests).
EPCIS2_VERSION := 2.7.3
NODE_DIR := $(CURDIR)/testout/node

epcis-deps: $(NODE_DIR)/node_modules/epcis2.js/package.json ## install epcis2.js (the EPCIS oracle of the tests) into testout/node

$(NODE_DIR)/node_modules/epcis2.js/package.json:
	@mkdir -p $(NODE_DIR)/fs-stub
	@echo '{"name":"fs","version":"0.0.1-security"}' > $(NODE_DIR)/fs-stub/package.json
	@echo '{"private":true,"dependencies":{"epcis2.js":"$(EPCIS2_VERSION)"},"overrides":{"fs":"file:./fs-stub"}}' > $(NODE_DIR)/package.json
	@if ! command -v npm >/dev/null; then $(call apt_install,nodejs npm); fi
	cd $(NODE_DIR) && npm install --no-audit --no-fund --loglevel=error || { \
	  if [ "$${CI:-}" = true ]; then echo "FAILED to install epcis2.js" >&2; exit 1; fi; \
	  echo "could not install epcis2.js: the EPCIS oracle tests will skip" >&2; }

lint: ## go vet and a gofmt check
	$(GO) vet ./...
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

fuzz: ## run every fuzz target for FUZZTIME each
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

clean: ## remove build output (not the data directory, nor the cached benchmark ledger)
	rm -rf $(BIN)/coldtrace
	[ ! -d testout ] || find testout -mindepth 1 -maxdepth 1 ! -name benchdata -exec rm -rf {} +

clean-bench: ## remove the cached benchmark ledger (testout/benchdata)
	rm -rf testout/benchdata
