#!/usr/bin/env bash
# CPU per handshake with one listening socket per loop (wsgate's default)
# against one acceptor handing connections to the loops (--single-listener),
# at make bench's idle sizes, alternating modes ROUNDS times. Prints one line
# per run and each mode's median; the figures back the "halves the CPU per handshake" in
# reactor/doc.go and README.md. Loopback only; every step has a timeout.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${ROUNDS:=3}"
: "${CONNS:=15000}"
PORT=${BENCH_PORT:-28080}
ADMIN=${BENCH_ADMIN_PORT:-28081}
go build -o bin/wsgate ./cmd/wsgate
go build -o bin/wsbench ./cmd/wsbench
pid=
declare -A runs
trap 'if [[ -n "$pid" ]]; then kill -KILL "$pid" 2>/dev/null || true; fi' EXIT
for round in $(seq "$ROUNDS"); do
  for mode in per-loop single; do
    flags=()
    [[ $mode == single ]] && flags=(--single-listener)
    bin/wsgate --listen 127.0.0.1:$PORT --admin-listen 127.0.0.1:$ADMIN --log-level error "${flags[@]}" 2>/dev/null &
    pid=$!
    for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
    cpu=$(timeout 300 bin/wsbench connect --url ws://127.0.0.1:$PORT/ws --conns "$CONNS" --channels 100 --hold 2s \
      --connect-rate 3000 --source-ips 127.0.0.2-127.0.0.17 --server-pid "$pid" --quiet | grep '^server CPU')
    kill -TERM "$pid"; wait "$pid" 2>/dev/null || true; pid=
    echo "round $round $mode: $cpu"
    runs[$mode]+="$(awk '{print $3}' <<<"$cpu") "
  done
done
for mode in per-loop single; do
  median=$(tr ' ' '\n' <<<"${runs[$mode]}" | grep . | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
  echo "median $mode: $median µs per handshake over $ROUNDS runs"
done
