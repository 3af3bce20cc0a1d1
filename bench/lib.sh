# Shell helpers the benchmark scripts share. Sourced from the
# repository root (each script cds there first).

# host_meta prints the meta.env lines that describe the machine and the
# toolchain of a run, for bench/benchmd's summary header.
host_meta() {
  echo "nproc=$(nproc)"
  echo "mem=$(awk '/MemTotal/ {print $2 " kB"}' /proc/meminfo)"
  echo "kernel=$(uname -r)"
  echo "go=$(go version | awk '{print $3}')"
}

# wait_tcp HOST PORT waits up to 10 s for something to listen there.
wait_tcp() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
