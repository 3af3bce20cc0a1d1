#!/usr/bin/env bash
# CPU per handshake and per delivery of one wsgate node with the PROXY
# protocol on (wsgate --proxy-protocol v2 --trusted-proxies 127.0.0.0/8,
# wsbench --proxy-protocol v2: every connection claims its own client
# 10.x.y.z, as behind a load balancer) against off (neither), same binary,
# alternating the two ROUNDS times (off first in odd rounds, on first in
# even ones, so neither always meets a host just warmed by the other). A
# fresh node for every run. Writes bench/results-proxy/summary.md (medians,
# lowest–highest, on/off; bench/benchmd -pair), the figure behind
# BENCHMARKS.md's "within 1.03× of off"; the reports stay in $RAW.
# Loopback only; every step has a timeout; about 6 minutes at the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
: "${ROUNDS:=5}"
: "${IDLE_CONNS:=15000}" # CPU times come in 10 ms ticks: 15,000 handshakes span ~30 of them
: "${BCAST_CONNS:=5000}"
: "${RAW:=bin/results-proxy}"
: "${SUMMARY:=bench/results-proxy/summary.md}"
PORT=${BENCH_PORT:-28180}
ADMIN=${BENCH_ADMIN_PORT:-28181}
HOST=127.0.0.1
SIZES="--connect-rate 3000 --source-ips 127.0.0.2-127.0.0.17 --quiet"
NODE="--listen $HOST:$PORT --admin-listen $HOST:$ADMIN --log-level error --max-msg-rate -1 --max-byte-rate -1"
NODE_ON="--proxy-protocol v2 --trusted-proxies 127.0.0.0/8"
BENCH_ON="--proxy-protocol v2"

# Own binaries: another session's make bench may be rebuilding bin/.
bindir=$(mktemp -d)
pid=
trap 'if [[ -n "$pid" ]]; then kill -KILL "$pid" 2>/dev/null || true; fi; rm -rf "$bindir"' EXIT
go build -o "$bindir/wsgate" ./cmd/wsgate
go build -o "$bindir/wsbench" ./cmd/wsbench
go build -o "$bindir/benchmd" ./bench/benchmd
help=$("$bindir/wsgate" --help 2>&1 || true)
if [[ $help != *-proxy-protocol* || $help != *-trusted-proxies* ]]; then
  echo "proxy-ab: this wsgate has no --proxy-protocol/--trusted-proxies" >&2
  exit 1
fi
rm -rf "$RAW"; mkdir -p "$RAW" "$(dirname "$SUMMARY")"

test_args() {
  case $1 in
    idle) echo "connect --url ws://$HOST:$PORT/ws --conns $IDLE_CONNS --channels 100 --hold 3s $SIZES" ;;
    bcast) echo "broadcast --url ws://$HOST:$PORT/ws --publish-url http://$HOST:$ADMIN --conns $BCAST_CONNS --channels 1 --rate 10 --payload 64 --duration 15s $SIZES" ;;
  esac
}

started=$(date +%s)
for round in $(seq "$ROUNDS"); do
  order="off on"; (( round % 2 == 0 )) && order="on off"
  for test in idle bcast; do
    for mode in $order; do
      node_flags=$NODE bench_flags=
      [[ $mode == on ]] && node_flags="$NODE $NODE_ON" bench_flags=$BENCH_ON
      # shellcheck disable=SC2086
      "$bindir/wsgate" $node_flags 2>/dev/null &
      pid=$!
      wait_tcp "$HOST" "$ADMIN" || true
      # shellcheck disable=SC2046,SC2086
      timeout 300 "$bindir/wsbench" $(test_args "$test") $bench_flags --label "proxy-$mode" --server-pid "$pid" \
        --json "$RAW/$mode-$test-$round.json" | grep -E '^(server CPU|errors|connections|proxy)' | sed "s/^/round $round $test $mode: /"
      kill -TERM "$pid"; wait "$pid" 2>/dev/null || true; pid=
      sleep 2
    done
  done
done
{
  pair_meta "PROXY protocol v2: on against off" off on "a fresh node per run"
  echo "what=One wsgate node and wsbench on this host. on: the node runs with --proxy-protocol v2 --trusted-proxies 127.0.0.0/8 and every wsbench connection starts with a PROXY v2 header (in the same write as its upgrade request) claiming its own client 10.(i>>16).(i>>8).(i); off: neither. The server's CPU is its own, from /proc (wsbench --server-pid), counted in 10 ms ticks: one tick is $(( 10000000 / IDLE_CONNS )) ns per handshake at these sizes."
  echo "sizes=idle: $IDLE_CONNS connections over 100 channels opened at 3000/s and held 3s (CPU/handshake: the node's CPU over the ramp per connection); bcast: $BCAST_CONNS subscribers of one channel, 10 msg/s of 64 bytes for 15s published on the admin API (CPU/delivery: the node's CPU over the load per delivery); connections from 127.0.0.2-127.0.0.17"
} > "$RAW/meta.env"
"$bindir/benchmd" -pair "$RAW" -out "$SUMMARY"
{
  echo
  echo "## Exact commands"
  echo
  echo '```'
  echo "go build -o wsgate ./cmd/wsgate; go build -o wsbench ./cmd/wsbench"
  echo "off: wsgate $NODE"
  echo "on:  wsgate $NODE $NODE_ON"
  for test in idle bcast; do
    echo "$test: wsbench $(test_args "$test") --server-pid <node> [on: $BENCH_ON]"
  done
  echo '```'
} >> "$SUMMARY"
cat "$SUMMARY"
