#!/usr/bin/env bash
# Measures DAA attestation throughput: hallmark serve pinned to CPU 0, hallmark
# loadgen pinned to CPU 1, on a fresh data directory (and database) each run.
#
#   bench/daa.sh sqlite|postgres [runs]
#
# PostgreSQL runs use the database hallmark_bench on 127.0.0.1:5432 (trust
# authentication), dropped and created again for each run. PostgreSQL's
# processes are pinned to CPU 1 with the load generator for the runs (and
# let run on every CPU again after), so that the server has CPU 0 to itself,
# as it would with the database on a machine of its own; this needs the
# right to change their affinity (root, or the postgres user).
set -euo pipefail
db=${1:?usage: bench/daa.sh sqlite|postgres [runs]}
runs=${2:-3}
top=$(cd "$(dirname "$0")/.." && pwd)
bin=$(mktemp -d)/hallmark
go build -C "$top" -o "$bin" ./cmd/hallmark

if [ "$db" = postgres ]; then
  pin() {
    for pid in $(pgrep -x postgres); do
      taskset -apc "$1" "$pid" >/dev/null ||
        echo "bench: cannot pin PostgreSQL process $pid to CPU $1" >&2
    done
  }
  trap 'pin 0-$(($(nproc) - 1))' EXIT
  pin 1
fi

for i in $(seq 1 "$runs"); do
  dir=$(mktemp -d)
  dbflag=sqlite
  if [ "$db" = postgres ]; then
    psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS hallmark_bench"
    psql -q -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE hallmark_bench"
    dbflag="postgres://postgres@127.0.0.1:5432/hallmark_bench?sslmode=disable"
  fi
  (cd "$dir" && HOME="$dir/home" taskset -c 0 "$bin" serve --device-rate 0 \
    --log-level warn --database "$dbflag" >serve.log 2>&1 &)
  for _ in $(seq 1 100); do
    curl -sf http://127.0.0.1:9090/healthz >/dev/null 2>&1 && break
    sleep 0.2
  done
  token=$(grep -o 'hm_[A-Za-z0-9_-]\{43\}' "$dir/serve.log" | head -n1)
  echo "== run $i on $db"
  (cd "$dir" && HALLMARK_TOKEN=$token taskset -c 1 "$bin" loadgen --server-cores 1 \
    --devices 2000 --concurrency 64 --attestations 10000 --warmup 1000 \
    --metrics http://127.0.0.1:9090/metrics 2>/dev/null)
  pkill -f "$bin serve" || true
  sleep 2
  rm -rf "$dir"
done
