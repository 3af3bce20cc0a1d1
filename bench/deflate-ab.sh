#!/usr/bin/env bash
# permessage-deflate on against off for one wsgate node (default
# --compression on, the same flags both times): on, every wsbench
# connection offers permessage-deflate (wsbench --deflate) and inflates what
# comes compressed; off, none offers it. Two tests, alternating the two
# modes ROUNDS times (off first in odd rounds, on first in even ones), a
# fresh node for every run:
#   idle:  IDLE_CONNS idle connections: the node's RSS per connection (the
#          target: an idle deflate connection costs at most 64 B more);
#   bcast: BCAST_CONNS subscribers of one channel, RATE publications/s of
#          PAYLOAD bytes of JSON (wsbench --payload-kind json: quotes, field
#          names repeated and values varied) on the admin API: the node's CPU
#          per delivery (target: at most 1.2x off), the bytes the
#          subscribers read per delivery, and the node's compressions
#          counter (GET /api/stats, wsbench --server-stats) per publication:
#          1 when each publication is compressed once for all subscribers.
# The binaries are built from HEAD (git archive), not from the working
# tree, which other sessions may be changing: the summary names a commit.
# WORKTREE=1 builds from the working tree instead (marked +uncommitted).
# Writes bench/results-deflate/summary.md (medians, lowest–highest, on/off,
# the targets; bench/benchmd -pair); the reports stay in $RAW. Loopback
# only; every step has a timeout; about 6 minutes at the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
: "${ROUNDS:=5}"
: "${IDLE_CONNS:=10000}"
: "${BCAST_CONNS:=10000}"
: "${RATE:=10}"
: "${PAYLOAD:=1024}"
: "${RAW:=bin/results-deflate}"
: "${SUMMARY:=bench/results-deflate/summary.md}"
PORT=${BENCH_PORT:-28190}
ADMIN=${BENCH_ADMIN_PORT:-28191}
HOST=127.0.0.1
SIZES="--connect-rate 3000 --source-ips 127.0.0.2-127.0.0.17 --quiet --server-stats http://$HOST:$ADMIN/api/stats"
NODE="--listen $HOST:$PORT --admin-listen $HOST:$ADMIN --log-level error --max-msg-rate -1 --max-byte-rate -1"
BENCH_ON="--deflate"

# Own binaries: another session's make bench may be rebuilding bin/.
bindir=$(mktemp -d)
pid=
trap 'if [[ -n "$pid" ]]; then kill -KILL "$pid" 2>/dev/null || true; fi; rm -rf "$bindir"' EXIT
src=.
commit=$(git rev-parse --short HEAD)
if [[ ${WORKTREE:-0} == 1 ]]; then
  git diff --quiet HEAD -- '*.go' go.mod go.sum || commit="$commit+uncommitted"
else
  src=$bindir/src
  mkdir "$src"
  git archive HEAD | tar -x -C "$src"
fi
(cd "$src" && go build -o "$bindir/wsgate" ./cmd/wsgate && go build -o "$bindir/wsbench" ./cmd/wsbench && go build -o "$bindir/benchmd" ./bench/benchmd)
help=$("$bindir/wsgate" --help 2>&1 || true)
if [[ $help != *-compression* ]]; then
  echo "deflate-ab: this wsgate has no --compression" >&2
  exit 1
fi
rm -rf "$RAW"; mkdir -p "$RAW" "$(dirname "$SUMMARY")"

test_args() {
  case $1 in
    idle) echo "connect --url ws://$HOST:$PORT/ws --conns $IDLE_CONNS --channels 100 --hold 3s $SIZES" ;;
    bcast) echo "broadcast --url ws://$HOST:$PORT/ws --publish-url http://$HOST:$ADMIN --conns $BCAST_CONNS --channels 1 --rate $RATE --payload $PAYLOAD --payload-kind json --duration 15s $SIZES" ;;
  esac
}

started=$(date +%s)
for round in $(seq "$ROUNDS"); do
  order="off on"; (( round % 2 == 0 )) && order="on off"
  for test in idle bcast; do
    for mode in $order; do
      bench_flags=
      [[ $mode == on ]] && bench_flags=$BENCH_ON
      # shellcheck disable=SC2086
      "$bindir/wsgate" $NODE 2>/dev/null &
      pid=$!
      wait_tcp "$HOST" "$ADMIN" || true
      # shellcheck disable=SC2046,SC2086
      timeout 300 "$bindir/wsbench" $(test_args "$test") $bench_flags --label "deflate-$mode" --server-pid "$pid" \
        --json "$RAW/$mode-$test-$round.json" | grep -E '^(server CPU|server RSS|errors|connections|deflate|wire)' | sed "s/^/round $round $test $mode: /"
      kill -TERM "$pid"; wait "$pid" 2>/dev/null || true; pid=
      sleep 2
    done
  done
done
{
  pair_meta "permessage-deflate: subscribers offering it (on) against not (off)" off on "a fresh node per run" "$commit"
  echo "what=One wsgate node (default --compression on, --compression-min-size 256; the same flags in both modes) and wsbench on this host. on: every wsbench connection offers permessage-deflate; client_max_window_bits (wsbench --deflate), the node answers server_no_context_takeover; client_no_context_takeover and sends each publication compressed once for all of them; wsbench inflates every message (its stamps and sequence checks run on the inflated JSON) and fails the run if any connection is refused deflate. off: no connection offers it. The server's CPU and RSS are its own, from /proc (wsbench --server-pid); CPU in 10 ms ticks. Wire B/delivery: the bytes the subscribers read from their sockets over the load and its drain, per delivery (frame headers included). Compressions/publication: the growth of the node's compressions counter (GET /api/stats, wsbench --server-stats) over the load, per publication."
  echo "sizes=idle: $IDLE_CONNS connections over 100 channels opened at 3000/s and held 3s (RSS/conn: the node's growth from before the ramp to the end of the hold, per connection); bcast: $BCAST_CONNS subscribers of one channel, $RATE msg/s of $PAYLOAD-byte JSON (wsbench --payload-kind json) for 15s published on the admin API (CPU/delivery: the node's CPU over the load and its drain per delivery); connections from 127.0.0.2-127.0.0.17"
  echo "targets=bcast|CPU/delivery (µs)|ratio|1.2;idle|RSS/conn (B)|diff|64"
} > "$RAW/meta.env"
"$bindir/benchmd" -pair "$RAW" -out "$SUMMARY"
{
  echo
  echo "## Exact commands"
  echo
  echo '```'
  echo "git archive $commit | tar -x; go build -o wsgate ./cmd/wsgate; go build -o wsbench ./cmd/wsbench"
  echo "node, both modes: wsgate $NODE"
  for test in idle bcast; do
    echo "$test: wsbench $(test_args "$test") --server-pid <node> [on: $BENCH_ON]"
  done
  echo '```'
} >> "$SUMMARY"
cat "$SUMMARY"
