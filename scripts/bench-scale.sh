#!/usr/bin/env bash
# Scale benchmark of the hosted realtime layer (Gatehouse alone):
#
#  1. throughput: deliveries per second one node writes to CONNS sockets
#     subscribed to one channel while the load client does not read (the
#     kernel's buffers take the frames), with GOMAXPROCS=1 on one core and
#     with every core, rounds alternating;
#  2. storm: STORM sockets connecting at once, as after a deploy: failures
#     (nothing is retried), time, handshake p99;
#  3. size: as many idle subscribed sockets as the open-file limit allows
#     (up to MAX_SOCKETS), RSS per socket, and a fan-out to all of them.
#
#   scripts/bench-scale.sh              # about 4 minutes
#   ROUNDS=1 scripts/bench-scale.sh
#
# The client dials from several loopback addresses (127.0.0.1-4) when one
# address has too few ephemeral ports. Both processes need an open-file
# limit above the socket count: the script raises the soft limit to the
# hard one and says so when that caps the size run.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-10000}
EVENTS=${EVENTS:-50}
STORM=${STORM:-10000}
MAX_SOCKETS=${MAX_SOCKETS:-100000}
CLIENT_CPU=${CLIENT_CPU:-0}
SERVER_CPU=${SERVER_CPU:-1}
ALL_CPUS=${ALL_CPUS:-0-$(($(nproc) - 1))}
APP=bench:bench-key-4f1c2a:bench-secret-9d3e7b51c08a

ulimit -n "$(ulimit -Hn)"
limit=$(ulimit -n)
work=$(mktemp -d /tmp/bench-scale.XXXXXX)
server_pid=""
stop_server() {
	[ -n "$server_pid" ] || return 0
	kill -TERM "$server_pid" 2>/dev/null || true
	wait "$server_pid" 2>/dev/null || true
	server_pid=""
}
trap 'stop_server; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

echo "# building" >&2
go build -o "$work/loadgen" ./bench/realtime/cmd/loadgen
go build -o "$work/gatehouse" ./cmd/gatehouse
printf 'apps:\n  - id: bench\n    key: bench-key-4f1c2a\n    secret: bench-secret-9d3e7b51c08a\n' >"$work/gatehouse.yaml"

port=0
start() { # GOMAXPROCS cpus
	port=$((20000 + RANDOM % 8000))
	rm -rf "$work/data"
	GOMAXPROCS=$1 taskset -c "$2" "$work/gatehouse" dev --addr "127.0.0.1:$port" --data-dir "$work/data" \
		--config "$work/gatehouse.yaml" >"$work/gatehouse.log" 2>&1 &
	server_pid=$!
	for _ in $(seq 100); do
		curl -s -o /dev/null "http://127.0.0.1:$port/" && return 0
		sleep 0.1
	done
	echo "bench-scale: gatehouse did not start" >&2
	tail "$work/gatehouse.log" >&2
	exit 1
}
load() { # args...
	taskset -c "$CLIENT_CPU" "$work/loadgen" -pid "$server_pid" -url "http://127.0.0.1:$port" -app "$APP" "$@"
}
sources() { # sockets -> the -source-addrs flag when one address has too few ports
	local n=$((($1 + 24999) / 25000)) s="127.0.0.1" i
	[ "$n" -gt 1 ] || return 0
	for i in $(seq 2 "$n"); do s="$s,127.0.0.$i"; done
	echo "-source-addrs $s"
}

echo "# load before: $(cut -d' ' -f1-3 /proc/loadavg); open-file limit $limit" >&2
res=$work/results.jsonl
for round in $(seq "$ROUNDS"); do
	for cores in 1 all; do
		if [ "$cores" = 1 ]; then start 1 "$SERVER_CPU"; else start "$(nproc)" "$ALL_CPUS"; fi
		echo "# round $round: throughput, GOMAXPROCS $cores" >&2
		load -mode throughput -name gatehouse -server-gomaxprocs "$cores" -conns "$CONNS" -cpu-events "$EVENTS" \
			-window 4 -settle 1s >>"$res"
		stop_server
	done
done

start 1 "$SERVER_CPU"
echo "# storm: $STORM sockets at once" >&2
load -mode storm -name gatehouse -conns "$STORM" -settle 3s $(sources "$STORM") >>"$res"
stop_server

size=$MAX_SOCKETS
if [ $((size + 1000)) -gt "$limit" ]; then
	size=$((limit - 1000))
	echo "# size run capped at $size sockets by the open-file limit ($limit): raise the hard limit for $MAX_SOCKETS" >&2
fi
start 1 "$SERVER_CPU"
echo "# size: $size idle sockets, a fan-out to all of them" >&2
load -name "gatehouse-$size" -conns "$size" -subscribers "$size" -latency-events 20 -spacing 300ms -cpu-events 20 \
	-settle 3s -budget 10m $(sources "$size") >>"$res"
stop_server
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

if ! command -v python3 >/dev/null; then
	echo "# python3 is missing: the raw results follow" >&2
	cat "$res"
	exit 0
fi
python3 - "$res" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
tp = [r for r in rows if r.get("mode") == "throughput"]
def med(xs): return statistics.median(xs) if xs else float("nan")
one = [r["deliveries_per_second"] for r in tp if r["server_gomaxprocs"] == "1"]
allc = [r["deliveries_per_second"] for r in tp if r["server_gomaxprocs"] == "all"]
print("| throughput to %d sockets (client not reading) | GOMAXPROCS=1, one core | all cores |" % tp[0]["conns"])
print("|---|---:|---:|")
print("| deliveries per second, median (range) | %.0f (%.0f–%.0f) | %.0f (%.0f–%.0f) |" % (med(one), min(one), max(one), med(allc), min(allc), max(allc)))
print("| server CPU per delivery, µs | %.1f | %.1f |" % (med([r["cpu_per_delivery_us"] for r in tp if r["server_gomaxprocs"] == "1"]), med([r["cpu_per_delivery_us"] for r in tp if r["server_gomaxprocs"] == "all"])))
print("| all cores / one core | | **%.2f×** |" % (med(allc) / med(one)))
print()
for r in rows:
    if r.get("mode") == "storm":
        print("storm: %d sockets at once: %d failed, %.1f s, handshake p99 %.0f ms, RSS per socket after %.1f KiB" % (r["conns"], r["failed"], r["seconds"], r["p99_handshake_ms"], r["rss_per_conn_bytes"] / 1024))
    elif "mode" not in r:
        print("size: %d idle sockets: RSS per socket %.2f KiB (after the fan-out %.2f KiB); fan-out to all %d: p50 %.0f ms, p99 %.0f ms, CPU per delivery %.1f µs, %d dropped" % (r["conns"], r["rss_per_conn_bytes"] / 1024, r["after_rss_per_conn_bytes"] / 1024, r["subscribers"], r["p50_ms"], r["p99_ms"], r["cpu_per_delivery_us"], r["dropped"]))
PY
