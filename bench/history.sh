#!/usr/bin/env bash
# History benchmarks (make bench-history): the Go benchmarks of channel
# history, each run COUNT times, then their medians, spread and the targets
# of issue 12 in bench/history/summary.md (bench/benchmd -history), which
# BENCHMARKS.md includes. nats-server runs in the benchmark's process with
# the file store in a temporary directory, on the same cores as the node.
# Loopback only; every step has a timeout.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${COUNT:=5}"
: "${HISTORY_OUT:=bench/results-history}"
: "${HISTORY_SUMMARY:=bench/history/summary.md}"
rm -rf "$HISTORY_OUT"; mkdir -p "$HISTORY_OUT" "$(dirname "$HISTORY_SUMMARY")"
go build -o bin/benchmd ./bench/benchmd
run() { # package, pattern, benchtime
  echo "go test -run '^\$' -bench '$2' -benchtime $3 -count $COUNT $1" >> "$HISTORY_OUT/commands.txt"
  timeout 1200 go test -run '^$' -bench "$2" -benchtime "$3" -count "$COUNT" "$1" | tee -a "$HISTORY_OUT/raw.txt" | grep '^Benchmark' || true
}
run ./relay 'BenchmarkHistory(PublishJetStream|StoreJetStream)' 20000x
run ./relay 'BenchmarkHistory(MemoryPerChannel|JetStreamPerChannel)' 1x
run ./reactor 'BenchmarkResume1000' 20x
{
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- '*.go' || echo '+uncommitted')"
  echo "count=$COUNT"
  echo "nproc=$(nproc)"
  echo "mem=$(awk '/MemTotal/ {print $2 " kB"}' /proc/meminfo)"
  echo "cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
  echo "kernel=$(uname -r)"
  echo "go=$(go version | awk '{print $3}')"
} > "$HISTORY_OUT/meta.env"
bin/benchmd -history "$HISTORY_OUT" -out "$HISTORY_SUMMARY"
cat "$HISTORY_SUMMARY"
bin/benchmd -splice -out BENCHMARKS.md
