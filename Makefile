# pypyctl — the two commands a fresh machine needs are `make demo` and `make test`.
SHELL := /bin/bash
GO ?= go
BIN := bin/pypyctl
DIST ?= dist
export GOFLAGS ?= -mod=mod

.PHONY: all setup build demo test unit integration bench lint clean

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
test: setup lint unit integration

unit:
	$(GO) test -count=1 ./...

integration: build
	./scripts/tools/cosign.sh >/dev/null
	$(GO) test -count=1 -tags integration -timeout 40m ./...

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...

bench: build
	./scripts/bench/run.sh

clean:
	rm -rf bin $(DIST)
