#!/usr/bin/env bash
# The standard benchmark suite (make bench): starts each server in turn on
# this machine, runs the same wsbench invocations against each, BENCH_REPEAT
# times in one random order, keeps a summary of every run (the report less
# its per-second timeline) in $BENCH_OUT/runs/ -- committed -- and writes
# BENCHMARKS.md from those: medians with their range.
#
# Every test gets a fresh server process, so its RSS starts clean. Sizes
# come from the environment; the defaults are the standard sizes the
# committed BENCHMARKS.md must come from. A quick smoke run:
#
#   BENCH_IDLE_CONNS=2000 BENCH_BCAST_SUBS=1000 BENCH_BCAST_DURATION=3s \
#   BENCH_MAX_DURATION=3s BENCH_ECHO_CONNS=100 BENCH_ECHO_DURATION=3s \
#   BENCH_OUT=/tmp/bench BENCH_MD=/tmp/BENCHMARKS.md make bench
#
# Only loopback addresses are used. Every step has a timeout.
set -euo pipefail
cd "$(dirname "$0")/.."

# A run is standard when no size below comes from the environment.
standard=yes
for name in IDLE_CONNS IDLE_CHANNELS HOLD CONNECT_RATE BCAST_SUBS BCAST_RATE BCAST_DURATION MAX_DURATION \
  WINDOW PAYLOAD ECHO_CONNS ECHO_DURATION REPEAT TESTS; do
  v=BENCH_$name
  [[ -z "${!v+set}" ]] || standard=no
done

# nbiohub is nbio's tuned flavour, nbiohub-naive its first version (bench/baselines/doc.go);
# BENCHMARKS.md shows the servers bench/benchmd lists, every server's JSON stays in $BENCH_OUT.
: "${BENCH_SERVERS:=wsgate gnetws nbiohub nbiohub-naive gorillahub}"
: "${BENCH_IDLE_CONNS:=15000}"      # idle subscribed connections (RSS, CPU per handshake)
: "${BENCH_IDLE_CHANNELS:=100}"     # channels they subscribe to, ?channels=
: "${BENCH_HOLD:=20s}"              # how long they are held (the idle CPU figure is over the hold)
: "${BENCH_CONNECT_RATE:=3000}"     # connections/s (the host tops out near 4,300)
: "${BENCH_BCAST_SUBS:=10000}"      # broadcast subscribers, one channel
: "${BENCH_BCAST_RATE:=10}"         # msgs/s for the fixed-rate broadcast (bcast; bcast2 is at 2/s)
: "${BENCH_BCAST_DURATION:=15s}"    # each fixed-rate broadcast
: "${BENCH_MAX_DURATION:=10s}"      # max-rate broadcast
: "${BENCH_WINDOW:=64}"             # max rate: messages in flight per subscriber
: "${BENCH_PAYLOAD:=64}"            # bytes of JSON data per message
: "${BENCH_ECHO_CONNS:=1000}"
: "${BENCH_ECHO_DURATION:=10s}"
: "${BENCH_SOURCE_IPS:=127.0.0.2-127.0.0.17}"
: "${BENCH_PROFILE:=1}"             # profile wsgate too (CPU and heap summaries)
: "${BENCH_REPEAT:=3}"              # runs of each test, all in one random order; tables give the median and range
: "${BENCH_OUT:=bench/results}"
: "${BENCH_MD:=BENCHMARKS.md}"
PORT=${BENCH_PORT:-28080}
ADMIN=${BENCH_ADMIN_PORT:-28081}
HOST=127.0.0.1

echo "== building"
go build -o bin/wsgate ./cmd/wsgate
go build -o bin/wsbench ./cmd/wsbench
go build -o bin/benchmd ./bench/benchmd
(cd bench/baselines && go build -o ../../bin/ ./...)

rm -rf "$BENCH_OUT"
mkdir -p "$BENCH_OUT/profiles" "$BENCH_OUT/raw"
LOGS=${BENCH_LOGS:-$(mktemp -d /tmp/wsbench-logs.XXXXXX)}
echo "server logs in $LOGS"
{
  echo "commit=$(git rev-parse HEAD)$(git diff --quiet HEAD -- . ':!bench/results' ':!BENCHMARKS.md' || echo '+uncommitted')"
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "nproc=$(nproc)"
  echo "mem=$(awk '/MemTotal/ {print $2 " kB"}' /proc/meminfo)"
  echo "kernel=$(uname -r)"
  echo "cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
  echo "go=$(go version | awk '{print $3}')"
  echo "nofile=$(ulimit -Hn)"
  echo "standard=$standard"
  for v in ${!BENCH_@}; do echo "$v=${!v}"; done
} > "$BENCH_OUT/meta.env"

server_cmd() { # name → command line
  case $1 in
    # Rates off: the suite measures the data path, not the per-connection limits.
    wsgate) echo "bin/wsgate --listen $HOST:$PORT --admin-listen $HOST:$ADMIN --log-level warn --max-msg-rate -1 --max-byte-rate -1" ;;
    # The same node under the Go profiler: CPU from start to exit, the heap
    # on SIGUSR1 (sent while the idle connections are held) or at SIGTERM.
    wsgate-prof) echo "$(server_cmd wsgate) --cpuprofile $2.cpu.prof --memprofile $2.heap.prof" ;;
    # idle-ping: a ping every second, so the idle CPU is about one ping and its pong per connection.
    wsgate-ping) echo "$(server_cmd wsgate) --ping-interval 1s" ;;
    gnetws|nbiohub|gorillahub) echo "bin/$1 --listen $HOST:$PORT --admin-listen $HOST:$ADMIN" ;;
    nbiohub-naive) echo "bin/nbiohub --flavour naive --listen $HOST:$PORT --admin-listen $HOST:$ADMIN" ;;
    *) echo "unknown server $1" >&2; exit 2 ;;
  esac
}

SERVER_PID=
start_server() { # name [profile prefix]
  local cmd
  cmd=$(server_cmd "$@")
  $cmd >>"$LOGS/$1.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null && (exec 3<>"/dev/tcp/$HOST/$ADMIN") 2>/dev/null; then
      echo "$cmd" > "$BENCH_OUT/$1.cmd"
      return
    fi
    sleep 0.1
  done
  echo "$1 did not start listening on $HOST:$PORT and $HOST:$ADMIN" >&2
  kill "$SERVER_PID" 2>/dev/null || true
  exit 1
}

stop_server() {
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  for _ in $(seq 150); do
    kill -0 "$SERVER_PID" 2>/dev/null || { wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=; return; }
    sleep 0.1
  done
  kill -KILL "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}
trap 'if [[ -n "$SERVER_PID" ]]; then kill -KILL "$SERVER_PID" 2>/dev/null || true; fi' EXIT

test_args() { # test name → wsbench arguments
  local ws=ws://$HOST:$PORT pub=http://$HOST:$ADMIN
  local common="--connect-rate $BENCH_CONNECT_RATE --source-ips $BENCH_SOURCE_IPS --quiet"
  case $1 in
    idle) echo "connect --url $ws/ws --conns $BENCH_IDLE_CONNS --channels $BENCH_IDLE_CHANNELS --hold $BENCH_HOLD $common" ;;
    idle-frame) echo "$(test_args idle) --subscribe-via frame" ;;
    idle-ping) test_args idle ;;
    bcast) echo "broadcast --url $ws/ws --publish-url $pub --conns $BENCH_BCAST_SUBS --channels 1 --rate $BENCH_BCAST_RATE --payload $BENCH_PAYLOAD --duration $BENCH_BCAST_DURATION $common" ;;
    bcast2) echo "broadcast --url $ws/ws --publish-url $pub --conns $BENCH_BCAST_SUBS --channels 1 --rate 2 --payload $BENCH_PAYLOAD --duration $BENCH_BCAST_DURATION $common" ;;
    bcastmax) echo "broadcast --url $ws/ws --publish-url $pub --conns $BENCH_BCAST_SUBS --channels 1 --rate 0 --window $BENCH_WINDOW --payload $BENCH_PAYLOAD --duration $BENCH_MAX_DURATION $common" ;;
    echo) echo "echo --url $ws/echo --conns $BENCH_ECHO_CONNS --payload $BENCH_PAYLOAD --duration $BENCH_ECHO_DURATION $common" ;;
  esac
}

run_test() { # server test output-prefix [profile]
  local server=$1 test=$2 out=$3 wsb
  if [[ "${4:-}" == profile ]]; then
    start_server wsgate-prof "$out"
  elif [[ "$test" == idle-ping ]]; then
    start_server wsgate-ping
  else
    start_server "$server"
  fi
  echo "== $server $test ($out)"
  # shellcheck disable=SC2046
  timeout 600 bin/wsbench $(test_args "$test") --label "$server" --server-pid "$SERVER_PID" --json "$out.json" >"$out.txt" &
  wsb=$!
  if [[ "${4:-}" == profile && "$test" == idle ]]; then
    # the heap profile is taken while the idle connections are held
    local hold=${BENCH_HOLD%s}
    [[ "$hold" =~ ^[0-9]+$ ]] || hold=2
    sleep $(( BENCH_IDLE_CONNS / BENCH_CONNECT_RATE + 1 + hold / 2 ))
    kill -USR1 "$SERVER_PID" 2>/dev/null || true
  fi
  wait "$wsb"
  cat "$out.txt"
  stop_server
  sleep 2 # let the kernel retire the closed sockets before the next server's baseline
}

# Every run of every server and test, in one random order, so no server
# always runs first, or after the same neighbour.
TESTS=${BENCH_TESTS:-idle idle-frame idle-ping bcast bcast2 bcastmax echo}
for r in $(seq "$BENCH_REPEAT"); do
  for test in $TESTS; do
    for server in $BENCH_SERVERS; do
      # subscribing by frame is wsgate's protocol, and pings its; the baselines have neither
      [[ ( "$test" == idle-frame || "$test" == idle-ping ) && "$server" != wsgate ]] && continue
      echo "$server $test $r"
    done
  done
done | shuf > "$BENCH_OUT/order.txt"
while read -r server test r <&3; do # fd 3: the servers and wsbench must not eat the list
  run_test "$server" "$test" "$BENCH_OUT/raw/$server-$test-$r"
done 3< "$BENCH_OUT/order.txt"
bin/benchmd -summarize "$BENCH_OUT/raw" -results "$BENCH_OUT"
for test in $TESTS; do
  echo "wsbench $(test_args "$test") --label <server> --server-pid <pid> --json $BENCH_OUT/raw/<server>-$test-<n>.json" > "$BENCH_OUT/cmd-$test.txt"
done

if [[ "$BENCH_PROFILE" == 1 && " $BENCH_SERVERS " == *" wsgate "* ]]; then
  for test in idle bcast bcastmax echo; do
    p="$BENCH_OUT/profiles/wsgate-$test"
    run_test wsgate "$test" "$p" profile
    go tool pprof -top -cum -nodecount=30 bin/wsgate "$p.cpu.prof" > "$p.cpu.txt" 2>/dev/null || true
    go tool pprof -top -nodecount=20 -sample_index=inuse_space bin/wsgate "$p.heap.prof" > "$p.heap.txt" 2>/dev/null || true
    rm -f "$p.cpu.prof" "$p.heap.prof"
  done
fi

# The go test benchmarks: the decoder, fan-out, and real processes (one
# node's idle memory and broadcast CPU, three nodes over NATS).
gobench() { # records the command, then runs it
  echo "\$ go test -run '^\$' $*" >> "$BENCH_OUT/gobench.txt"
  go test -run '^$' "$@" >> "$BENCH_OUT/gobench.txt" 2>&1 || echo "FAILED: go test $*" >&2
}
if [[ "${BENCH_GO:-1}" == 1 ]]; then
  : > "$BENCH_OUT/gobench.txt"
  gobench -bench 'DecoderSmallTextFrames|ParseRequest|AppendFrame' -benchmem ./wsproto/
  gobench -bench FanOut -benchmem ./reactor/
  gobench -bench . -benchtime 1x ./e2e/
fi

bin/benchmd -results "$BENCH_OUT" -out "$BENCH_MD"
echo "wrote $BENCH_MD from $BENCH_OUT (standard sizes: $standard)"
