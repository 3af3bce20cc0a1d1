#!/usr/bin/env bash
# Who accepts: the bare gnet floor (bench/baselines/gnetws) with gnet
# accepting on a listener per loop (gnet, its default) against Go listeners,
# one per loop, accepting and handing each connection to gnet, the way a
# gnet server could survive the accept errors gnet treats as fatal
# (reactor/doc.go, "Sockets count from accept"). VIA picks how gnet v2.9.7
# takes a socket it did not accept: enroll (Engine.Register, a hop through
# gnet's goroutine pool) or client (Client.Enroll, on a gnet Client: an
# engine with no listener, registering without that hop). IDLE_CONNS idle
# connections per run, alternating the two ROUNDS times (gnet first in odd
# rounds, VIA first in even ones), a fresh server for every run. Writes
# bench/results-accept/summary.md for enroll, summary-client.md for client
# (medians, lowest–highest, VIA/gnet; bench/benchmd -pair); the reports stay
# in $RAW. Loopback only; every step has a timeout; about 3 minutes at the
# defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
: "${VIA:=enroll}"
: "${ROUNDS:=5}"
: "${IDLE_CONNS:=15000}"
: "${RAW:=bin/results-accept}"
: "${SUMMARY:=bench/results-accept/summary$([[ $VIA == enroll ]] || echo "-$VIA").md}"
PORT=${BENCH_PORT:-28380}
ADMIN=${BENCH_ADMIN_PORT:-28381}
HOST=127.0.0.1
SIZES="--connect-rate 3000 --source-ips 127.0.0.2-127.0.0.17 --quiet"
IDLE="connect --url ws://$HOST:$PORT/ws --conns $IDLE_CONNS --channels 100 --hold 3s $SIZES"

tmp=$(mktemp -d)
pid=
trap 'if [[ -n "$pid" ]]; then kill -KILL "$pid" 2>/dev/null || true; fi; rm -rf "$tmp"' EXIT
go build -o "$tmp/wsbench" ./cmd/wsbench
go build -o "$tmp/benchmd" ./bench/benchmd
(cd bench/baselines && go build -o "$tmp/gnetws" ./gnetws)
rm -rf "$RAW"; mkdir -p "$RAW" "$(dirname "$SUMMARY")"

started=$(date +%s)
for round in $(seq "$ROUNDS"); do
  order="gnet $VIA"; (( round % 2 == 0 )) && order="$VIA gnet"
  for mode in $order; do
    "$tmp/gnetws" --accept "$mode" --listen "$HOST:$PORT" --admin-listen "$HOST:$ADMIN" 2>/dev/null &
    pid=$!
    wait_tcp "$HOST" "$PORT" || true
    # shellcheck disable=SC2086
    timeout 300 "$tmp/wsbench" $IDLE --label "gnetws-$mode" --server-pid "$pid" --json "$RAW/$mode-idle-$round.json" |
      grep -E '^(server CPU|errors|connections)' | sed "s/^/round $round idle $mode: /"
    kill -TERM "$pid"; wait "$pid" 2>/dev/null || true; pid=
    sleep 2
  done
done
{
  pair_meta "Who accepts: gnet, or Go listeners handing connections to gnet" gnet "$VIA" "a fresh server per run"
  echo "what=bench/baselines/gnetws, the bare gnet floor (gnet v2.9.7, an event loop per core). gnet: gnet accepts on a SO_REUSEPORT listener per loop, as in make bench. $VIA: gnetws --accept $VIA, Go listeners (SO_REUSEPORT, one per loop, no keep-alive) accept and hand each connection to gnet, $( [[ $VIA == enroll ]] && echo "with Engine.Register (a dup of the socket and a hop through gnet's goroutine pool), gnet listening on a port nobody dials" || echo "with Client.Enroll on a gnet Client (an engine with no listener; a dup of the socket, registered on a loop without the pool's hop)"). CPU is the server's, from /proc (wsbench --server-pid)."
  echo "sizes=idle: $IDLE_CONNS connections over 100 channels opened at 3000/s and held 3s (CPU/handshake: the CPU over the ramp per connection); connections from 127.0.0.2-127.0.0.17"
} > "$RAW/meta.env"
"$tmp/benchmd" -pair "$RAW" -out "$SUMMARY"
{
  echo
  echo "## Exact commands"
  echo
  echo '```'
  for mode in gnet "$VIA"; do
    echo "$mode: gnetws --accept $mode --listen $HOST:$PORT --admin-listen $HOST:$ADMIN"
    echo "$mode: wsbench $IDLE --server-pid <gnetws>"
  done
  echo '```'
} >> "$SUMMARY"
cat "$SUMMARY"
