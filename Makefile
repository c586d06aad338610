# pypyctl — the two commands a fresh machine needs are `make demo` and `make test`.
SHELL := /bin/bash
GO ?= go
BIN := bin/pypyctl
DIST ?= dist
export GOFLAGS ?= -mod=mod

.PHONY: all setup build demo test unit fuzz integration bench lint clean

all: build

setup:
	./scripts/setup.sh

build:
	$(GO) build -o $(BIN) ./cmd/pypyctl

# Build the default release (PyPy 7.3.11 for Python 3.9, imported from
# Debian's packages) for this machine's linux-amd64 into ./dist.
demo: setup build
	./scripts/demo.sh

# Every test: unit tests, then the integration stage against real tools.
# cosign (the second signature implementation the integration stage uses)
# takes ~12 minutes to build on a fresh machine, so it builds while lint
# and the unit tests run; a cached binary makes that instant.
test: setup
	@mkdir -p .cache; ./scripts/tools/cosign.sh > .cache/cosign.log 2>&1 & pid=$$!; \
	$(MAKE) lint unit || { kill $$pid 2>/dev/null; exit 1; }; \
	wait $$pid || { echo "building cosign failed:"; cat .cache/cosign.log; exit 1; }; \
	$(MAKE) integration

unit:
	$(GO) test -count=1 ./...
	$(MAKE) fuzz

# Short fuzzing of the parsers that read untrusted input (an index from the
# network, a .python-version from any checkout). FUZZTIME=1m for longer runs.
FUZZTIME ?= 10s
FUZZ_TARGETS := ./install:FuzzIndex ./install:FuzzVersionFile
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; fn=$${t##*:}; \
	  echo "fuzz $$pkg $$fn ($(FUZZTIME))"; \
	  $(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime=$(FUZZTIME) $$pkg; \
	done

# Only the packages with integration-tagged tests: `make unit` ran the rest.
integration: build
	./scripts/tools/cosign.sh >/dev/null
	$(GO) test -count=1 -tags integration -timeout 40m $$(grep -rl --include='*.go' '^//go:build integration' . | xargs -n1 dirname | sort -u)

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...

bench: build
	./scripts/bench/run.sh

clean:
	rm -rf bin $(DIST)
