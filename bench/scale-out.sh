#!/usr/bin/env bash
# Scale-out run: K wsgate nodes on this host, joined by NATS, and wsbench
# with enough worker processes and source addresses to hold SCALE_CONNS
# concurrent subscribed connections (200,000 by default; SCALE_CONNS=1000000
# for the million), then publications to a channel everyone is on
# (SCALE_RATE: one every 20 s; at a million, one a second is a million
# deliveries a second, beyond this 2-core host with its clients on it) for
# SCALE_DURATION, SIGKILLing one node SCALE_KILL_AFTER seconds into it (its
# subscribers redial the others: wsbench --reconnect). Reports connections
# held, memory per connection (the nodes', wsbench's, the kernel's), the
# server CPU per idle connection
# per second (a quiet SCALE_IDLE before the load), the time for a
# publication to reach everyone, and the messages lost by the subscribers
# that stayed connected, which must be 0.
#
#   bench/scale-out.sh                       # 200k connections
#   SCALE_CONNS=20000 bench/scale-out.sh     # a quick run
#   SCALE_CONNS=1000000 make bench-scale-out # the million
#
# Sized for the host, not only the open-files cap: every process (node or
# wsbench worker) holds as many connections as its cap allows
# (SCALE_PER_NODE), so there are as few processes as the cap permits, each
# with GOMAXPROCS=SCALE_GOMAXPROCS (1: the cores are shared by all). The
# ramp's pace is the host's: wsbench gives up only when no connection opens
# or fails for --ramp-stall, and a failed or partial run says so, with the
# stage and the counts reached. Pings every SCALE_PING_INTERVAL: at a
# million connections the 25 s default is 40,000 pings a second
# (docs/tuning.md). Ports are chosen outside the kernel's ephemeral range,
# so no outgoing connection can take a node's port. Only loopback addresses
# are used; every step has a timeout.
#
# NATS_URL (default nats://127.0.0.1:4333; started from the module if
# nothing listens) joins the nodes: wsbench publishes each message once and
# every other node gets it through NATS. NATS_URL=none runs independent
# nodes, wsbench posting every message to every node (--publish-all).
set -euo pipefail
cd "$(dirname "$0")/.."

: "${SCALE_CONNS:=200000}"
: "${SCALE_PER_NODE:=19000}"            # under the 20,000 open-files cap, with room for listeners, NATS and the admin API
: "${SCALE_NODES:=$(( (SCALE_CONNS + SCALE_PER_NODE - 1) / SCALE_PER_NODE ))}"
: "${SCALE_GOMAXPROCS:=1}"
: "${SCALE_CONNECT_RATE:=3000}"         # planned; the ramp goes at what the host sustains
: "${SCALE_RAMP_STALL:=60s}"            # no connection opened or failed for this long: the run fails
: "${SCALE_PING_INTERVAL:=300s}"
: "${SCALE_PONG_TIMEOUT:=60s}"          # wsbench shares the 2 cores: behind a million-delivery burst its pongs come late
: "${SCALE_IDLE:=30s}"                  # quiet period before the load: CPU per idle connection per second
: "${SCALE_RATE:=0.05}"                 # publications per second to the channel everyone is on: one per 20 s (at a million, 1/s is beyond this host; BENCHMARKS.md)
: "${SCALE_DURATION:=5m}"
: "${SCALE_KILL_AFTER:=150}"             # seconds into the load when the last node is SIGKILLed (its clients redial the others); 0: none
: "${SCALE_SOURCE_IPS:=127.0.0.2-127.0.0.250}"
: "${SCALE_BASE_PORT:=30000}"
: "${SCALE_OUT:=bench/scale-out-results}"  # not under bench/results, which make bench replaces
: "${NATS_URL:=nats://127.0.0.1:4333}"
[[ "$NATS_URL" == none ]] && NATS_URL=""

# The nodes' ports (ws at BASE+i, admin at BASE+K+i) must lie outside the
# ephemeral range, where the kernel picks the ports of outgoing
# connections (wsbench's, the nodes' to NATS) and could take one first.
read -r eph_lo eph_hi < /proc/sys/net/ipv4/ip_local_port_range
span=$((2 * SCALE_NODES))
outside() { (( $1 + span <= eph_lo || $1 > eph_hi )) && (( $1 >= 1024 && $1 + span <= 65536 )); }
if ! outside "$SCALE_BASE_PORT"; then
  if outside $((eph_hi + 1)); then SCALE_BASE_PORT=$((eph_hi + 1))
  elif outside $((eph_lo - span)); then SCALE_BASE_PORT=$((eph_lo - span))
  else echo "no room for $span ports outside the ephemeral range $eph_lo-$eph_hi: narrow net.ipv4.ip_local_port_range" >&2; exit 2
  fi
  echo "base port moved to $SCALE_BASE_PORT, outside the ephemeral range $eph_lo-$eph_hi"
fi
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
  ws=$((SCALE_BASE_PORT + i)) admin=$((SCALE_BASE_PORT + SCALE_NODES + i))
  GOMAXPROCS=$SCALE_GOMAXPROCS bin/wsgate --listen 127.0.0.1:$ws --admin-listen 127.0.0.1:$admin --node-id n$i --log-level warn \
    --max-conns $((SCALE_PER_NODE + 500)) --ping-interval "$SCALE_PING_INTERVAL" --pong-timeout "$SCALE_PONG_TIMEOUT" "${nats_args[@]}" >"$LOGS/node$i.log" 2>&1 &
  PIDS+=($!) pids+=($!)
  urls+=(--url "ws://127.0.0.1:$ws/ws") pubs+=(--publish-url "http://127.0.0.1:$admin")
done
for i in $(seq 0 $((SCALE_NODES - 1))); do
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$((SCALE_BASE_PORT + SCALE_NODES + i))") 2>/dev/null && break
    sleep 0.1
  done
done

publish=("${pubs[@]}" --publish-all)
if [[ -n "$NATS_URL" ]]; then publish=("${pubs[@]:0:2}"); fi # the first node's --publish-url and its value

cmd=(bin/wsbench broadcast "${urls[@]}" "${publish[@]}" --conns "$SCALE_CONNS" --channels 1 --rate "$SCALE_RATE"
  --duration "$SCALE_DURATION" --idle-before "$SCALE_IDLE" --connect-rate "$SCALE_CONNECT_RATE" --ramp-stall "$SCALE_RAMP_STALL"
  --source-ips "$SCALE_SOURCE_IPS" --procs auto --connect-timeout 30s --drain-timeout 60s --server-pid "$(IFS=,; echo "${pids[*]}")"
  --reconnect --progress-every 5s --label "scale-out $SCALE_NODES nodes" --json "$SCALE_OUT/report.json"
  --plot "$SCALE_OUT/timeline.svg" --timeline-csv "$SCALE_OUT/timeline.csv")
{
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ) commit=$(git rev-parse HEAD) nproc=$(nproc) mem=$(awk '/MemTotal/ {print $2 " kB"}' /proc/meminfo) kernel=$(uname -r) $(go version | awk '{print $3}')"
  echo "nodes=$SCALE_NODES nats=${NATS_URL:-none} GOMAXPROCS=$SCALE_GOMAXPROCS (nodes and wsbench workers)"
  echo "node command: bin/wsgate --listen 127.0.0.1:PORT --admin-listen 127.0.0.1:ADMIN --node-id nI --log-level warn --max-conns $((SCALE_PER_NODE + 500)) --ping-interval $SCALE_PING_INTERVAL --pong-timeout $SCALE_PONG_TIMEOUT ${nats_args[*]}"
  echo "${cmd[*]}"
} | tee "$SCALE_OUT/command.txt"
# The kill: once wsbench's progress shows messages flowing (the load has
# begun), wait SCALE_KILL_AFTER seconds and SIGKILL the last node, whose
# clients are not the publishing node's.
: > "$SCALE_OUT/progress.log"
if (( SCALE_KILL_AFTER > 0 && SCALE_NODES > 1 )); then
  (
    until grep -q 'msgs_per_sec=[1-9]' "$SCALE_OUT/progress.log" 2>/dev/null; do sleep 1; done
    sleep "$SCALE_KILL_AFTER"
    kill -KILL "${pids[-1]}" 2>/dev/null && echo "scale-out: SIGKILLed node n$((SCALE_NODES - 1)) (pid ${pids[-1]}) at $(date -u +%H:%M:%S), ${SCALE_KILL_AFTER}s into the load" | tee -a "$SCALE_OUT/command.txt"
  ) &
  PIDS+=($!)
fi
status=0
GOMAXPROCS=$SCALE_GOMAXPROCS timeout 3600 "${cmd[@]}" > "$SCALE_OUT/report.txt" 2> >(tee "$SCALE_OUT/progress.log" >&2) || status=$?
cat "$SCALE_OUT/report.txt"
if (( status != 0 )); then
  echo "scale-out: wsbench exited $status: the run FAILED or was partial (see RUN FAILED above and $SCALE_OUT/report.json)" >&2
fi
exit $status
