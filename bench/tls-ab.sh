#!/usr/bin/env bash
# The cost of TLS at the proxy: wsbench → HAProxy → one wsgate node over
# plain TCP, the clients speaking ws:// to one HAProxy frontend (plain) or
# wss:// to another that terminates TLS (tls), alternating the two ROUNDS
# times (plain first in odd rounds, tls first in even ones). A fresh
# HAProxy and node for every run, a throwaway self-signed certificate
# (KEY=ec: ECDSA P-256, the default; KEY=rsa: RSA 2048) made with openssl in
# a temporary directory. The figure is the proxy's CPU plus the node's
# (wsbench --server-pid both), per handshake and per delivery. Writes
# bench/results-tls/summary.md (medians, lowest–highest, tls/plain;
# bench/benchmd -pair); the reports stay in $RAW.
# Loopback only; every step has a timeout; about 5 minutes at the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
: "${ROUNDS:=5}"
: "${IDLE_CONNS:=5000}"
: "${BCAST_CONNS:=5000}"
: "${KEY:=ec}"
: "${RAW:=bin/results-tls}"
: "${SUMMARY:=bench/results-tls/summary.md}"
PORT=${BENCH_PORT:-28280}
ADMIN=${BENCH_ADMIN_PORT:-28281}
PLAIN=${BENCH_PLAIN_PORT:-28282}
TLS=${BENCH_TLS_PORT:-28283}
HOST=127.0.0.1
SIZES="--connect-rate 2000 --source-ips 127.0.0.2-127.0.0.17 --quiet"
NODE="--listen $HOST:$PORT --admin-listen $HOST:$ADMIN --log-level error --max-msg-rate -1 --max-byte-rate -1"
command -v haproxy >/dev/null || { echo "tls-ab: no haproxy (apt-get install -y haproxy)" >&2; exit 1; }

tmp=$(mktemp -d)
pids=()
stop() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; pids=(); }
trap 'for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done; rm -rf "$tmp"' EXIT
go build -o "$tmp/wsgate" ./cmd/wsgate
go build -o "$tmp/wsbench" ./cmd/wsbench
go build -o "$tmp/benchmd" ./bench/benchmd
case $KEY in
  ec) newkey=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1) ;;
  rsa) newkey=(-newkey rsa:2048) ;;
  *) echo "tls-ab: KEY=ec or rsa" >&2; exit 2 ;;
esac
openssl req -x509 "${newkey[@]}" -nodes -days 1 -subj "/CN=$HOST" -addext "subjectAltName=IP:$HOST" \
  -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
cat "$tmp/cert.pem" "$tmp/key.pem" > "$tmp/haproxy.pem"
# Two descriptors per connection, within this shell's open-files limit:
# HAProxy cannot raise it past the hard limit without CAP_SYS_RESOURCE.
cat > "$tmp/haproxy.cfg" <<EOF
global
  maxconn $(( ($(ulimit -n) - 100) / 2 ))
  ssl-default-bind-options ssl-min-ver TLSv1.2
defaults
  mode tcp
  timeout connect 5s
  timeout client 120s
  timeout server 120s
frontend plain
  bind $HOST:$PLAIN
  default_backend node
frontend tls
  bind $HOST:$TLS ssl crt $tmp/haproxy.pem
  default_backend node
backend node
  server node $HOST:$PORT
EOF
haproxy -c -q -f "$tmp/haproxy.cfg"
rm -rf "$RAW"; mkdir -p "$RAW" "$(dirname "$SUMMARY")"

url() { if [[ $1 == tls ]]; then echo "wss://$HOST:$TLS/ws --tls-ca $2"; else echo "ws://$HOST:$PLAIN/ws"; fi; }
test_args() { # test mode cafile
  case $1 in
    idle) echo "connect --url $(url "$2" "$3") --conns $IDLE_CONNS --channels 100 --hold 3s $SIZES" ;;
    bcast) echo "broadcast --url $(url "$2" "$3") --publish-url http://$HOST:$ADMIN --conns $BCAST_CONNS --channels 1 --rate 10 --payload 64 --duration 15s $SIZES" ;;
  esac
}
wait_port() { wait_tcp "$HOST" "$1" || true; }

started=$(date +%s)
for round in $(seq "$ROUNDS"); do
  order="plain tls"; (( round % 2 == 0 )) && order="tls plain"
  for test in idle bcast; do
    for mode in $order; do
      # shellcheck disable=SC2086
      "$tmp/wsgate" $NODE 2>/dev/null &
      pids+=($!)
      wait_port "$ADMIN"
      haproxy -db -q -f "$tmp/haproxy.cfg" 2>/dev/null &
      pids+=($!)
      wait_port "$PLAIN"; wait_port "$TLS"
      # shellcheck disable=SC2046
      timeout 300 "$tmp/wsbench" $(test_args "$test" "$mode" "$tmp/cert.pem") --label "haproxy-$mode" \
        --server-pid "${pids[0]},${pids[1]}" --json "$RAW/$mode-$test-$round.json" |
        grep -E '^(server CPU|errors|connections|tls)' | sed "s/^/round $round $test $mode: /"
      stop
      sleep 2
    done
  done
done
{
  pair_meta "TLS at the proxy: wss:// against ws:// through HAProxy" plain tls "a fresh HAProxy and node per run"
  echo "what=wsbench → $(haproxy -v | head -1 | awk '{print "HAProxy", $3}') (mode tcp, $(openssl version | awk '{print $1, $2}'), its default threads) → one wsgate node over plain TCP, all on this host. plain: ws:// to a plain frontend; tls: wss:// to a frontend terminating TLS with a self-signed $( [[ $KEY == ec ]] && echo 'ECDSA P-256' || echo 'RSA 2048') certificate (wsbench verifies it with --tls-ca; a full handshake per connection, no resumption; negotiated: $(jq -r '.settings.tls // empty' "$RAW/tls-idle-1.json" 2>/dev/null | sed 's/.*; //')). CPU is HAProxy's plus the node's, from /proc (wsbench --server-pid both); tls minus plain is what TLS costs the proxy."
  echo "sizes=idle: $IDLE_CONNS connections over 100 channels opened at 2000/s and held 3s (CPU/handshake: the CPU over the ramp per connection, TLS handshake included); bcast: $BCAST_CONNS subscribers of one channel, 10 msg/s of 64 bytes for 15s published on the node's admin API (CPU/delivery: the CPU over the load per delivery); connections from 127.0.0.2-127.0.0.17"
} > "$RAW/meta.env"
"$tmp/benchmd" -pair "$RAW" -out "$SUMMARY"
{
  echo
  echo "## Exact commands"
  echo
  echo '```'
  echo "openssl req -x509 ${newkey[*]} -nodes -days 1 -subj /CN=$HOST -addext subjectAltName=IP:$HOST -keyout key.pem -out cert.pem"
  echo "wsgate $NODE"
  echo "haproxy -db -f haproxy.cfg   # below"
  for test in idle bcast; do
    for mode in plain tls; do
      echo "$test $mode: wsbench $(test_args "$test" "$mode" cert.pem) --server-pid <haproxy>,<node>"
    done
  done
  echo
  sed "s#$tmp/##" "$tmp/haproxy.cfg"
  echo '```'
} >> "$SUMMARY"
cat "$SUMMARY"
