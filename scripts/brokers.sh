#!/usr/bin/env bash
# Builds the broker servers the e2e tests and benchmarks run, from the Go
# module proxy, once per version, into a cache outside the checkout:
#   $GATEHOUSE_CACHE_DIR/<name>-<version>/<binary>   (default ~/.cache/gatehouse)
# e2e/lib/brokers.mjs and the benchmark scripts read the same paths.
set -euo pipefail
cache="${GATEHOUSE_CACHE_DIR:-$HOME/.cache/gatehouse}"

build() { # name version module binary
  local dir="$cache/$1-$2"
  [ -x "$dir/$4" ] && return 0
  echo "building $1 $2 from the Go module proxy (once; cached in $dir)"
  mkdir -p "$dir.tmp"
  (cd /tmp && GOBIN="$dir.tmp" GOFLAGS=-mod=mod go install "$3@$2")
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
}

build centrifugo v6.9.1 github.com/centrifugal/centrifugo/v6 centrifugo
build nats-server v2.15.3 github.com/nats-io/nats-server/v2 nats-server
