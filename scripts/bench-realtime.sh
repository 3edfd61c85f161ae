#!/usr/bin/env bash
# Hosted realtime benchmark: Gatehouse against soketi 1.6.1 and Centrifugo
# v6.9.1, same client, same run. Each server runs alone on SERVER_CPU (Go
# servers with GOMAXPROCS=1), the Go load generator on CLIENT_CPU;
# everything listens and connects on 127.0.0.1 only. Per round and server:
# RSS per idle socket at CONNS sockets, server CPU per delivered message
# (CPU_EVENTS events to SUBSCRIBERS sockets through the server's HTTP API),
# and delivery latency p50/p99 of LATENCY_EVENTS events to SUBSCRIBERS
# sockets. Each round runs every server once, the order rotating from round
# to round; the table shows medians and ranges.
#
#   scripts/bench-realtime.sh                  # 5 rounds, about 6 minutes
#   ROUNDS=1 CONNS=2000 SUBSCRIBERS=500 scripts/bench-realtime.sh
#   SERVERS="gatehouse centrifugo" scripts/bench-realtime.sh
#
# Gatehouse and soketi speak Pusher protocol 7 (events through the signed
# /apps/{id}/events API); Centrifugo its JSON protocol on
# /connection/websocket, anonymous sockets, events through /api/publish,
# with bench/realtime/centrifugo.json (copied to the work dir; the port is
# given on the command line). The Centrifugo binary is the one
# scripts/brokers.sh builds (built here when missing); CENTRIFUGO_BIN
# overrides it.
#
# Regression check: BENCH_LED lists, per peer, the figures (rss, cpu, p50,
# p99) Gatehouse led that peer on in the table recorded in BENCHMARKS.md
# ("Hosted realtime"). The script exits 1 with a loud message when
# Gatehouse's median on one of them is worse than the peer's by more than
# BENCH_TOLERANCE percent (default 5). Update BENCH_LED with the table;
# BENCH_LED= (empty) turns the check off, e.g. for a smoke run on a busy
# machine.
#
# The client reads its sockets with epoll from one goroutine and, during
# the latency run, polls without sleeping: a delivery is timed when the
# kernel has it, not when a sleeping client got round to it, and no
# server's writes pay for waking the client. READER=epoll-wait sleeps until
# a socket is ready (for runs where client and server share cores);
# READER=goroutines reads each socket in a goroutine of its own (the
# method of the earlier tables in BENCHMARKS.md).
#
# GATEHOUSE=binary runs `gatehouse dev` (the default when it serves the
# Pusher routes); GATEHOUSE=ghserver runs bench/realtime/cmd/ghserver, the
# realtime layer wired alone. BENCH_NICE (default -10, 0 to turn off) raises
# the priority of the server and the client on a machine shared with other
# work; it applies to every server alike.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

ROUNDS=${ROUNDS:-5}
CONNS=${CONNS:-10000}
SUBSCRIBERS=${SUBSCRIBERS:-2000}
LATENCY_EVENTS=${LATENCY_EVENTS:-100}
SPACING=${SPACING:-50ms}
CPU_EVENTS=${CPU_EVENTS:-250}
PAYLOAD=${PAYLOAD:-128}
SETTLE=${SETTLE:-2s}
GATEHOUSE=${GATEHOUSE:-auto}
BENCH_NICE=${BENCH_NICE:--10}
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
# GOMAXPROCS of the Go servers (Gatehouse, Centrifugo); an all-core run:
# SERVER_PROCS=2 SERVER_CPU=0-1 CLIENT_CPU=0-1 (soketi's event loop is one
# thread either way).
SERVER_PROCS=${SERVER_PROCS:-1}
READER=${READER:-epoll}
APP_ID=bench
APP_KEY=bench-key-4f1c2a
APP_SECRET=bench-secret-9d3e7b51c08a
SOKETI_VERSION=1.6.1
CENTRIFUGO_VERSION=v6.9.1
SERVERS=${SERVERS:-gatehouse soketi centrifugo}
# Figures Gatehouse led each peer on in BENCHMARKS.md's recorded table
# ("Three servers, queued events written together"); change them together.
BENCH_LED=${BENCH_LED-soketi:rss,cpu,p50,p99 centrifugo:rss,cpu,p50,p99}
BENCH_TOLERANCE=${BENCH_TOLERANCE:-5}
read -r -a servers <<<"$SERVERS"
for server in "${servers[@]}"; do
	case $server in gatehouse | soketi | centrifugo) ;; *)
		echo "bench-realtime: unknown server $server in SERVERS (gatehouse, soketi, centrifugo)" >&2
		exit 1
		;;
	esac
done
runs() { [[ " ${servers[*]} " == *" $1 "* ]]; } # server
fig='(rss|cpu|p50|p99)'
if ! [[ " $BENCH_LED " =~ ^(\ +[a-z0-9-]+:$fig(,$fig)*)*\ *$ ]]; then
	echo "bench-realtime: BENCH_LED=\"$BENCH_LED\": want peer:figure,figure ... (figures: rss, cpu, p50, p99)" >&2
	exit 1
fi

work=$(mktemp -d /tmp/bench-realtime.XXXXXX)
server_pid=""
stop_server() {
	local pid=$server_pid
	server_pid=""
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 80); do # soketi drains for up to 3 s
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}
cleanup() {
	stop_server
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 10k sockets per process plus slack, on both sides.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" -lt $((CONNS + 1024)) ]; then
	echo "bench-realtime: open-file limit $(ulimit -n) is too low for $CONNS sockets" >&2
	exit 1
fi
prio=()
if [ "$BENCH_NICE" != 0 ] && nice -n "$BENCH_NICE" true 2>/dev/null; then
	prio=(nice -n "$BENCH_NICE")
fi

echo "# building" >&2
go build -o "$work/loadgen" ./bench/realtime/cmd/loadgen
go build -o "$work/ghserver" ./bench/realtime/cmd/ghserver
go build -o "$work/gatehouse" ./cmd/gatehouse

soketi_dir=$ROOT/e2e/node_modules/@soketi/soketi
if runs soketi; then
	if [ ! -f "$soketi_dir/bin/server.js" ]; then
		echo "# installing the e2e packages (soketi $SOKETI_VERSION)" >&2
		(cd e2e && npm ci --no-audit --no-fund >&2)
	fi
	got=$(node -p "require('$soketi_dir/package.json').version")
	if [ "$got" != "$SOKETI_VERSION" ]; then
		echo "bench-realtime: e2e has soketi $got, want $SOKETI_VERSION" >&2
		exit 1
	fi
fi

centrifugo_bin=${CENTRIFUGO_BIN:-${GATEHOUSE_CACHE_DIR:-$HOME/.cache/gatehouse}/centrifugo-$CENTRIFUGO_VERSION/centrifugo}
if runs centrifugo && [ -z "${CENTRIFUGO_BIN:-}" ] && [ ! -x "$centrifugo_bin" ]; then
	echo "# building the brokers (Centrifugo $CENTRIFUGO_VERSION)" >&2
	scripts/brokers.sh >&2
fi
if runs centrifugo && [ ! -x "$centrifugo_bin" ]; then
	echo "bench-realtime: $centrifugo_bin is missing (scripts/brokers.sh builds Centrifugo $CENTRIFUGO_VERSION)" >&2
	exit 1
fi
cp bench/realtime/centrifugo.json "$work/centrifugo.json"
CENTRIFUGO_API_KEY=$(node -p "require('$work/centrifugo.json').http_api.key")

# free_port prints a port below the ephemeral range (the client's 10k
# sockets use that) that no TCP or UDP socket holds: uWebSockets binds with
# SO_REUSEPORT, so a stale server on the port would share the load.
eph_lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range)
free_port() {
	local p
	for _ in $(seq 50); do
		p=$((eph_lo - 12000 + RANDOM % 11000))
		if ! ss -Htan "sport = :$p" | grep -q . && ! ss -Huan "sport = :$p" | grep -q .; then
			echo "$p"
			return
		fi
	done
	echo "bench-realtime: no free port" >&2
	exit 1
}

wait_http() { # port
	for _ in $(seq 100); do
		if curl -s -o /dev/null "http://127.0.0.1:$1/" 2>/dev/null; then return 0; fi
		kill -0 "$server_pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

printf 'apps:\n  - id: %s\n    key: %s\n    secret: %s\n' "$APP_ID" "$APP_KEY" "$APP_SECRET" >"$work/gatehouse.yaml"

start_gatehouse() { # port mode
	if [ "$2" = binary ]; then
		GOMAXPROCS=$SERVER_PROCS "${prio[@]}" taskset -c "$SERVER_CPU" "$work/gatehouse" dev --addr "127.0.0.1:$1" \
			--data-dir "$work/gatehouse-data" --config "$work/gatehouse.yaml" >"$work/gatehouse.log" 2>&1 &
	else
		GOMAXPROCS=$SERVER_PROCS "${prio[@]}" taskset -c "$SERVER_CPU" "$work/ghserver" -addr "127.0.0.1:$1" \
			-app "$APP_ID:$APP_KEY:$APP_SECRET" >"$work/gatehouse.log" 2>&1 &
	fi
	server_pid=$!
}

start_soketi() { # port
	local cluster
	cluster=$(free_port)
	mkdir -p "$work/soketi" # empty cwd: soketi loads ./.env when there is one
	# Discovery, metrics and sockets stay on loopback; nothing else is inherited.
	(cd "$work/soketi" && exec env -i PATH="$PATH" HOME="$work/soketi" NODE_ENV=production \
		SOKETI_HOST=127.0.0.1 SOKETI_METRICS_HOST=127.0.0.1 \
		SOKETI_CLUSTER_HOST=127.0.0.1 SOKETI_CLUSTER_UNICAST_ADDRESSES=127.0.0.1 \
		SOKETI_CLUSTER_PORT="$cluster" SOKETI_PORT="$1" \
		SOKETI_DEFAULT_APP_ID="$APP_ID" SOKETI_DEFAULT_APP_KEY="$APP_KEY" SOKETI_DEFAULT_APP_SECRET="$APP_SECRET" \
		"${prio[@]}" taskset -c "$SERVER_CPU" node "$soketi_dir/bin/server.js" start) >"$work/soketi.log" 2>&1 &
	server_pid=$!
}

start_centrifugo() { # port
	mkdir -p "$work/centrifugo"
	# Nothing inherited: Centrifugo reads CENTRIFUGO_* variables as config.
	(cd "$work/centrifugo" && exec env -i PATH="$PATH" HOME="$work/centrifugo" GOMAXPROCS="$SERVER_PROCS" \
		"${prio[@]}" taskset -c "$SERVER_CPU" "$centrifugo_bin" --config "$work/centrifugo.json" \
		--http_server.port "$1") >"$work/centrifugo.log" 2>&1 &
	server_pid=$!
}

if [ "$GATEHOUSE" = auto ]; then
	# The binary serves the Pusher routes when it answers GET /app/{key}
	# without an upgrade with 400 rather than 404.
	port=$(free_port)
	start_gatehouse "$port" binary
	GATEHOUSE=ghserver
	if wait_http "$port"; then
		code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/app/$APP_KEY" || true)
		[ "$code" = 400 ] && GATEHOUSE=binary
	fi
	stop_server
fi
echo "# servers: ${servers[*]}; gatehouse: $GATEHOUSE; soketi $SOKETI_VERSION; centrifugo $CENTRIFUGO_VERSION; $ROUNDS rounds; $CONNS sockets, $SUBSCRIBERS subscribers; reader $READER; load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

results=$work/results.jsonl
n=${#servers[@]}
for round in $(seq "$ROUNDS"); do
	for i in $(seq 0 $((n - 1))); do
		server=${servers[$(((round - 1 + i) % n))]} # the order rotates each round
		port=$(free_port)
		proto=(-app "$APP_ID:$APP_KEY:$APP_SECRET")
		case $server in
		gatehouse) start_gatehouse "$port" "$GATEHOUSE" ;;
		soketi) start_soketi "$port" ;;
		centrifugo)
			start_centrifugo "$port"
			proto=(-protocol centrifugo -api-key "$CENTRIFUGO_API_KEY")
			;;
		esac
		if ! wait_http "$port"; then
			echo "bench-realtime: $server did not start:" >&2
			tail -20 "$work/$server.log" >&2
			exit 1
		fi
		echo "# round $round: $server (pid $server_pid, port $port)" >&2
		"${prio[@]}" taskset -c "$CLIENT_CPU" "$work/loadgen" -name "$server" -pid "$server_pid" \
			-url "http://127.0.0.1:$port" "${proto[@]}" \
			-conns "$CONNS" -subscribers "$SUBSCRIBERS" -latency-events "$LATENCY_EVENTS" -spacing "$SPACING" \
			-cpu-events "$CPU_EVENTS" -payload "$PAYLOAD" -settle "$SETTLE" -reader "$READER" -budget 3m >>"$results"
		stop_server
	done
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
cat "$results" >&2
"$work/loadgen" -summary "$results"

[ -n "$BENCH_LED" ] || exit 0
echo
echo "Regression check (Gatehouse's medians against each peer on the figures it led; tolerance $BENCH_TOLERANCE %):"
rc=0
"$work/loadgen" -check "$results" -lead gatehouse -led "$BENCH_LED" -tolerance "$BENCH_TOLERANCE" >"$work/check.txt" || rc=$?
sed 's/^/  /' "$work/check.txt"
if [ "$rc" = 3 ]; then
	{
		echo
		echo "########################################################################"
		echo "## REGRESSION: Gatehouse fell behind a peer on a figure it led in the"
		echo "## recorded BENCHMARKS.md table (worse by more than $BENCH_TOLERANCE %):"
		grep BEHIND "$work/check.txt" | sed 's/^/##   /'
		echo "## BENCH_LED=\"$BENCH_LED\""
		echo "########################################################################"
	} >&2
	exit 1
elif [ "$rc" != 0 ]; then
	echo "bench-realtime: the regression check failed to run" >&2
	exit 1
fi
