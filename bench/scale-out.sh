#!/usr/bin/env bash
# Scale-out run: K wsgate nodes on this host and wsbench with enough worker
# processes and source addresses to hold SCALE_CONNS concurrent subscribed
# connections (200,000 by default), then broadcasts that must reach every
# one of them. Reports connections held, memory per connection (the nodes'
# RSS and the kernel's slab), the time for a broadcast to reach everyone
# (max end-to-end latency at one message per second) and lost messages,
# which must be 0.
#
#   bench/scale-out.sh                      # 200k connections, K chosen from the fd limit
#   SCALE_CONNS=20000 bench/scale-out.sh    # a quick run
#
# Cross-node delivery. A broadcast must reach subscribers on every node: the
# nodes share a NATS server (NATS_URL, default nats://127.0.0.1:4333; the
# script starts nats-server, built from the module, if nothing listens
# there), every node gets --nats, and wsbench publishes each message once,
# on one node, so every other node gets it through NATS. NATS_URL=none runs
# K independent nodes instead, with wsbench posting every message to every
# node's admin API (--publish-all).
#
# Each process stays under its own open-files limit: K is chosen so each
# node holds at most SCALE_PER_NODE connections, and wsbench --procs auto
# starts as many workers as its limit needs. Only loopback addresses are
# used; every step has a timeout.
#
# Reaching 1M on a host whose limits allow it: raise the per-process limit
# (ulimit -Hn 1100000 or LimitNOFILE, fs.nr_open ≥ that) so one node can
# hold 1M (or keep K nodes), widen net.ipv4.ip_local_port_range to
# 1024-65535, give wsbench at least 1M/28k ≈ 36 source addresses per server
# port (the default range here has 249), raise net.ipv4.tcp_mem if
# subscribers may queue data (≥ 4 KiB each), and run
# SCALE_CONNS=1000000 bench/scale-out.sh; memory needed is about
# (server RSS/conn + wsbench RSS/conn + kernel per connection pair) × 1M,
# about 12 GB at the figures this script reports here.
set -euo pipefail
cd "$(dirname "$0")/.."

: "${SCALE_CONNS:=200000}"
: "${SCALE_PER_NODE:=18000}"            # under the 20,000 open-files cap, with room for the admin API
: "${SCALE_NODES:=$(( (SCALE_CONNS + SCALE_PER_NODE - 1) / SCALE_PER_NODE ))}"
: "${SCALE_CONNECT_RATE:=3000}"
: "${SCALE_RATE:=0.2}"                  # broadcasts per second: one every 5 s, so each is timed alone
: "${SCALE_DURATION:=20s}"
: "${SCALE_SOURCE_IPS:=127.0.0.2-127.0.0.250}"
: "${SCALE_BASE_PORT:=30000}"
: "${SCALE_OUT:=bench/scale-out-results}"  # not under bench/results, which make bench replaces
: "${NATS_URL:=nats://127.0.0.1:4333}"
[[ "$NATS_URL" == none ]] && NATS_URL=""

go build -o bin/wsgate ./cmd/wsgate
go build -o bin/wsbench ./cmd/wsbench
go build -o bin/nats-server github.com/nats-io/nats-server/v2
mkdir -p "$SCALE_OUT"
LOGS=${SCALE_LOGS:-$(mktemp -d /tmp/wsgate-scale-logs.XXXXXX)}
echo "node logs in $LOGS"

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  sleep 1
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

nats_args=()
if [[ -n "$NATS_URL" ]]; then
  hostport=${NATS_URL#nats://}
  if ! (exec 3<>"/dev/tcp/${hostport%:*}/${hostport#*:}") 2>/dev/null; then
    bin/nats-server --addr "${hostport%:*}" --port "${hostport#*:}" >"$LOGS/nats.log" 2>&1 &
    PIDS+=($!)
    sleep 1
  fi
  nats_args=(--nats "$NATS_URL")
fi

urls=() pubs=() pids=()
for i in $(seq 0 $((SCALE_NODES - 1))); do
  ws=$((SCALE_BASE_PORT + i)) admin=$((SCALE_BASE_PORT + 1000 + i))
  bin/wsgate --listen 127.0.0.1:$ws --admin-listen 127.0.0.1:$admin --node-id n$i --log-level warn \
    --max-conns $((SCALE_PER_NODE + 1000)) "${nats_args[@]}" >"$LOGS/node$i.log" 2>&1 &
  PIDS+=($!) pids+=($!)
  urls+=(--url "ws://127.0.0.1:$ws/ws") pubs+=(--publish-url "http://127.0.0.1:$admin")
done
for i in $(seq 0 $((SCALE_NODES - 1))); do
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$((SCALE_BASE_PORT + 1000 + i))") 2>/dev/null && break
    sleep 0.1
  done
done

publish=("${pubs[@]}" --publish-all)
if [[ -n "$NATS_URL" ]]; then publish=("${pubs[@]:0:2}"); fi

cmd=(bin/wsbench broadcast "${urls[@]}" "${publish[@]}" --conns "$SCALE_CONNS" --channels 1 --rate "$SCALE_RATE"
  --duration "$SCALE_DURATION" --connect-rate "$SCALE_CONNECT_RATE" --source-ips "$SCALE_SOURCE_IPS" --procs auto
  --connect-timeout 30s --drain-timeout 30s --server-pid "$(IFS=,; echo "${pids[*]}")"
  --label "scale-out $SCALE_NODES nodes" --json "$SCALE_OUT/report.json" --quiet)
{
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ) commit=$(git rev-parse HEAD) nproc=$(nproc) kernel=$(uname -r) $(go version | awk '{print $3}')"
  echo "nodes=$SCALE_NODES nats=${NATS_URL:-none}"
  echo "node command: bin/wsgate --listen 127.0.0.1:PORT --admin-listen 127.0.0.1:ADMIN --node-id nI --log-level warn --max-conns $((SCALE_PER_NODE + 1000)) ${nats_args[*]}"
  echo "${cmd[*]}"
} | tee "$SCALE_OUT/command.txt"
timeout 1800 "${cmd[@]}" | tee "$SCALE_OUT/report.txt"
