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

.PHONY: help build run test test-short bench lint fuzz clean minio

help: ## show the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## build bin/coldtrace (trimmed paths, version stamped)
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/coldtrace ./cmd/coldtrace

run: build ## serve on $(ADDR) with data in $(DATA); prints what to open and the keys
	$(BIN)/coldtrace serve --demo --addr $(ADDR) --data $(DATA)

test: minio ## every test, with the race detector, against real badger and real servers
	$(GO) vet ./...
	COLDTRACE_MINIO_BIN=$(MINIO) $(GO) test -race -count=1 -timeout 60m ./...

test-short: ## the fast tests only
	$(GO) test -short -count=1 ./...

bench: minio ## the performance figures of README's table, each next to its baseline
	COLDTRACE_MINIO_BIN=$(MINIO) $(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m ./...

minio: $(MINIO) ## install the MinIO test server into bin/ when it is missing (about three minutes)

$(MINIO):
	GOBIN=$(BIN) $(GO) install github.com/minio/minio@$(MINIO_VERSION)

lint: ## go vet and a gofmt check
	$(GO) vet ./...
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

fuzz: ## run every fuzz target for FUZZTIME each
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

clean: ## remove build output (not the data directory)
	rm -rf $(BIN)/coldtrace testout
