# pypyctl — the two commands a fresh machine needs are `make demo` and `make test`.
SHELL := /bin/bash
GO ?= go
BIN := bin/pypyctl
DIST ?= dist
export GOFLAGS ?= -mod=mod

.PHONY: all setup build demo test unit fuzz integration realvm-test fresh-test bench lint clean

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
# and the unit tests run; a cached binary makes that instant. Both stages
# save their `go test -json` events; the run ends with one count over both
# (internal/cmd/testsummary), which in CI (PYPYCTL_CI=1) also fails on any
# skip its allow-list does not expect.
TESTRUN := .cache/testrun
SUMMARY := $(GO) run ./internal/cmd/testsummary
test: setup
	@mkdir -p .cache $(TESTRUN); rm -f $(TESTRUN)/*.json; \
	./scripts/tools/cosign.sh > .cache/cosign.log 2>&1 & pid=$$!; \
	$(MAKE) lint || { kill $$pid 2>/dev/null; exit 1; }; \
	$(MAKE) unit STAGE_SUMMARY=false || { kill $$pid 2>/dev/null; $(SUMMARY) -replay $(TESTRUN)/unit.json; exit 1; }; \
	wait $$pid || { echo "building cosign failed:"; cat .cache/cosign.log; exit 1; }; \
	$(MAKE) integration STAGE_SUMMARY=false; rc=$$?; \
	$(SUMMARY) -replay $(TESTRUN)/unit.json $(TESTRUN)/integration.json && exit $$rc

STAGE_SUMMARY ?= true
# actionlint (built once from the Go module proxy, cached) lints the
# generated workflows in ci/'s tests.
unit:
	@mkdir -p $(TESTRUN)
	./scripts/tools/actionlint.sh >/dev/null
	set -o pipefail; $(GO) test -json -count=1 ./... | $(SUMMARY) -save $(TESTRUN)/unit.json -summary=$(STAGE_SUMMARY)
	$(MAKE) fuzz

# Short fuzzing of the parsers that read untrusted input (an index from the
# network, a .python-version from any checkout). The budget is a count of
# executions, not a duration: go1.26's coordinator can report its own
# -fuzztime deadline as a failure when a loaded machine starves the workers
# (go.dev/issue/75804). FUZZTIME=1m (or 2000000x) for longer runs.
FUZZTIME ?= 100000x
FUZZ_TARGETS := ./install:FuzzIndex ./install:FuzzVersionFile
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; fn=$${t##*:}; \
	  echo "fuzz $$pkg $$fn ($(FUZZTIME))"; \
	  $(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime=$(FUZZTIME) $$pkg; \
	done

# Only the packages with integration-tagged tests: `make unit` ran the rest.
integration: build
	@mkdir -p $(TESTRUN)
	./scripts/tools/cosign.sh >/dev/null
	set -o pipefail; $(GO) test -json -count=1 -tags integration -timeout 40m $$(grep -rl --include='*.go' '^//go:build integration' . | xargs -n1 dirname | sort -u) | $(SUMMARY) -save $(TESTRUN)/integration.json -summary=$(STAGE_SUMMARY)

# The opt-in real-VM test (docs/translate.md): pypy3.11-v7.3.23 and
# pypy2.7-v7.3.20 translated for real (about an hour each; a store hit when
# REAL_STORE already has them), then built, run in a glibc-only sandbox,
# their stdlib tests, parity with upstream's package.py, and release →
# publish → install → run. REALVM=pypy2.7 runs one of them.
REAL_STORE ?= $(HOME)/.cache/pypyctl/real-store
REALVM ?=
realvm-test: setup build
	PYPYCTL_REAL_STORE=$(REAL_STORE) $(GO) test -count=1 -v -tags 'integration realvm' -run 'TestRealVM/$(REALVM)' -timeout 6h ./e2e

# The README's `make test` in a fresh clone of HEAD, with a fresh HOME and
# XDG dirs, as CI runs it (scripts/fresh-test.sh --help).
fresh-test:
	./scripts/fresh-test.sh

# gofmt over the tracked files (git is required: without it the file list
# would be empty and the check would pass vacuously), vet, then a build of
# every package for the other OSes pypyctl ships for. Cross targets build
# without cgo (the nocgo archive encoders); vet runs there too except on
# windows, whose tests drive unix processes and umasks.
CROSS := linux/arm64 darwin/arm64 darwin/amd64 windows/amd64
lint:
	@command -v git >/dev/null || { echo "lint: git is not installed (scripts/setup.sh installs it)"; exit 1; }
	@files=$$(git ls-files '*.go') && test -n "$$files" || { echo "lint: git lists no Go files"; exit 1; }; \
	bad=$$(gofmt -l $$files) || exit 1; \
	test -z "$$bad" || { echo "$$bad"; echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...
	@set -e; for t in $(CROSS); do \
		echo "lint: build $$t"; \
		GOOS=$${t%/*} GOARCH=$${t#*/} CGO_ENABLED=0 $(GO) build ./...; \
		case $$t in windows/*) ;; *) GOOS=$${t%/*} GOARCH=$${t#*/} CGO_ENABLED=0 $(GO) vet ./... ;; esac; \
	done

bench: build
	./scripts/bench/run.sh

clean:
	rm -rf bin $(DIST)
