#!/usr/bin/env bash
# Presence benchmarks (make bench-presence): what a presence member costs a
# node, in process and on NATS JetStream KV, each benchmark run COUNT
# times, then their medians and spread in bench/presence/summary.md
# (bench/benchmd -presence), which BENCHMARKS.md includes. The e2e
# benchmark runs real processes (wsgate, nats-server, the subscribers) on
# loopback; the presence package's run the store in the benchmark's
# process. Every step has a timeout.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
: "${COUNT:=3}"
: "${WSGATE_BENCH_CONNS:=5000}"
export WSGATE_BENCH_CONNS
: "${PRESENCE_OUT:=bench/results-presence}"
: "${PRESENCE_SUMMARY:=bench/presence/summary.md}"
rm -rf "$PRESENCE_OUT"; mkdir -p "$PRESENCE_OUT" "$(dirname "$PRESENCE_SUMMARY")"
go build -o bin/benchmd ./bench/benchmd
run() { # package, pattern, benchtime
  echo "WSGATE_BENCH_CONNS=$WSGATE_BENCH_CONNS go test -run '^\$' -bench '$2' -benchtime $3 -count $COUNT $1" >> "$PRESENCE_OUT/commands.txt"
  timeout 1200 go test -run '^$' -bench "$2" -benchtime "$3" -count "$COUNT" "$1" | tee -a "$PRESENCE_OUT/raw.txt" | grep '^Benchmark' || true
}
run ./e2e 'BenchmarkPresenceMember' 1x
run ./presence 'Benchmark(LocalJoinLeave|NATSJoinLeaveEnqueue|NATSJoinLeaveWritten)' 20000x
run ./presence 'BenchmarkMemberMemory/local' 1x
{
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- '*.go' || echo '+uncommitted')"
  echo "count=$COUNT"
  echo "conns=$WSGATE_BENCH_CONNS"
  echo "cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
  host_meta
} > "$PRESENCE_OUT/meta.env"
bin/benchmd -presence "$PRESENCE_OUT" -out "$PRESENCE_SUMMARY"
cat "$PRESENCE_SUMMARY"
bin/benchmd -splice -out BENCHMARKS.md
