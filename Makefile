# Gatehouse build and test entry points. `make test` is the one command that
# runs every check and test; it installs what it needs when it is missing.

GO          ?= go
BIN         := bin/gatehouse
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT      ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS     := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: all build dev test deps lint unit e2e bench bench-realtime bench-scale fuzz clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/gatehouse

dev:
	$(GO) run ./cmd/gatehouse dev

## test: every check and test — formatting, vet, staticcheck, race tests, e2e.
test: deps lint unit e2e

deps:
	scripts/deps.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

unit:
	$(GO) test -race -count=1 ./...

e2e: build
	cd e2e && GATEHOUSE_BIN=$(CURDIR)/$(BIN) npm test

## bench: the benchmarks behind BENCHMARKS.md.
bench:
	scripts/bench.sh

## bench-realtime: sockets against soketi 1.6.1 and Centrifugo v6.9.1 in the same run (about 6 minutes).
bench-realtime:
	scripts/bench-realtime.sh

## bench-scale: deliveries/s on one core and on all, a connection storm, the most sockets the open-file limit allows (about 4 minutes).
bench-scale:
	scripts/bench-scale.sh

## fuzz: run every fuzz target briefly (FUZZTIME=30s by default).
fuzz:
	scripts/fuzz.sh

clean:
	rm -rf bin
