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

# pair_meta TITLE FIRST SECOND FRESH [COMMIT] prints the meta.env header
# of a two-mode A/B run (bench/benchmd -pair): labels FIRST,SECOND,
# alternated (FIRST first in odd rounds), FRESH saying what each run
# starts anew; ROUNDS and started (epoch seconds) from the script. COMMIT
# defaults to HEAD, marked +uncommitted when Go files differ from it.
pair_meta() {
  echo "title=$1"
  echo "labels=$2,$3"
  echo "script=bench/$(basename "$0")"
  echo "commit=${5:-$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- '*.go' || echo '+uncommitted')}"
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "rounds=$ROUNDS"
  echo "order=alternating: $2 first in odd rounds, $3 first in even ones; $4; $(( $(date +%s) - started ))s in all"
  host_meta
}

# wait_tcp HOST PORT waits up to 10 s for something to listen there.
wait_tcp() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
