#!/usr/bin/env bash
# A/B regression check (make bench-ab BASE=<git ref>): builds wsgate at BASE
# and from the working tree, runs make bench's four tests against each at
# the standard sizes, alternating base and head ROUNDS times, and writes
# the medians with their spread and head/base ratios to bench/ab/summary.md
# (bench/benchmd -ab). Both builds get the same flags as in make bench. The
# order flips every round (base first, then head first), so neither build
# always runs on a host just warmed or just loaded by the other. TESTS picks
# a subset (default: all four).
# Loopback only; every step has a timeout.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
: "${BASE:?set BASE to the git ref to compare against}"
: "${ROUNDS:=3}"
: "${TESTS:=idle bcast bcastmax echo}"
: "${AB_OUT:=bench/results-ab}"
: "${AB_SUMMARY:=bench/ab/summary.md}"
PORT=${BENCH_PORT:-28080}
ADMIN=${BENCH_ADMIN_PORT:-28081}
HOST=127.0.0.1
SIZES="--connect-rate 3000 --source-ips 127.0.0.2-127.0.0.17 --quiet"

base_rev=$(git rev-parse --short "$BASE")
head_rev=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- '*.go' || echo '+uncommitted')
tree=$(mktemp -d)
trap 'git worktree remove --force "$tree" >/dev/null 2>&1 || true; if [[ -n "${pid:-}" ]]; then kill -KILL "$pid" 2>/dev/null || true; fi' EXIT
git worktree add --detach "$tree" "$BASE" >/dev/null
( cd "$tree" && go build -o "$OLDPWD/bin/wsgate-base" ./cmd/wsgate )
go build -o bin/wsgate ./cmd/wsgate
go build -o bin/wsbench ./cmd/wsbench
go build -o bin/benchmd ./bench/benchmd
rm -rf "$AB_OUT"; mkdir -p "$AB_OUT" "$(dirname "$AB_SUMMARY")"

test_args() {
  local ws=ws://$HOST:$PORT pub=http://$HOST:$ADMIN
  case $1 in
    idle) echo "connect --url $ws/ws --conns 15000 --channels 100 --hold 5s $SIZES" ;;
    bcast) echo "broadcast --url $ws/ws --publish-url $pub --conns 10000 --channels 1 --rate 10 --payload 64 --duration 20s $SIZES" ;;
    bcastmax) echo "broadcast --url $ws/ws --publish-url $pub --conns 10000 --channels 1 --rate 0 --window 64 --payload 64 --duration 10s $SIZES" ;;
    echo) echo "echo --url $ws/echo --conns 1000 --payload 64 --duration 10s $SIZES" ;;
  esac
}

for round in $(seq "$ROUNDS"); do
  order="base head"; (( round % 2 == 0 )) && order="head base"
  for test in $TESTS; do
    for label in $order; do
      binary=bin/wsgate; [[ $label == base ]] && binary=bin/wsgate-base
      "$binary" --listen $HOST:$PORT --admin-listen $HOST:$ADMIN --log-level error --max-msg-rate -1 --max-byte-rate -1 2>/dev/null &
      pid=$!
      wait_tcp "$HOST" "$ADMIN" || true
      # shellcheck disable=SC2046
      timeout 600 bin/wsbench $(test_args "$test") --label "$label" --server-pid "$pid" --json "$AB_OUT/$label-$test-$round.json" >/dev/null
      kill -TERM "$pid"; wait "$pid" 2>/dev/null || true; pid=
      echo "round $round $test $label done"
      sleep 2
    done
  done
done
{
  echo "base=$base_rev"
  echo "head=$head_rev"
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "rounds=$ROUNDS"
  echo "order=alternating: base first in odd rounds, head first in even ones"
  host_meta
  echo "sizes=15,000 idle connections over 100 channels held 5s; 10,000 broadcast subscribers at 10 msg/s for 20s and at max rate (window 64) for 10s; echo on 1,000 connections for 10s; 64-byte payloads; connections opened at 3000/s from 127.0.0.2-127.0.0.17"
} > "$AB_OUT/meta.env"
bin/benchmd -ab "$AB_OUT" -out "$AB_SUMMARY"
cat "$AB_SUMMARY"
bin/benchmd -splice -out BENCHMARKS.md
