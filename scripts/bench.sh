#!/usr/bin/env bash
# `make bench`: the network benchmark on every available backend, in one run.
# For each backend (devnet always; fabric where FABRIC_BIN and FABRIC_CFG_PATH are
# set) and each batch setting, a fresh network (own home, ports shifted by 30000)
# with MAJORITY endorsement; `healthblock bench` at concurrency 1, 8, 32, 128;
# `network up` time; peak RSS per process kind. The backend that ran is read back
# from `network status --json` (and recorded by `healthblock bench`). Writes
# results/network/<backend>-<setting>.json and results/network/report.md (+ SVG).
# Then the open-loop benchmark (scripts/bench-open-loop.sh, results/open-loop/)
# and the EHR benchmark, all with the release binaries `make bench` builds.
set -euo pipefail
cd "$(dirname "$0")/.."
hb="${HB:-$PWD/target/release/healthblock}"
for b in healthblock healthblock-devnet healthblock-kvcc healthblock-ehrcc; do
  if [[ ! -x "$(dirname "$hb")/$b" ]]; then
    echo "error: $(dirname "$hb")/$b is missing: build it with \`cargo build --release --workspace --bins\` (make bench does)" >&2
    exit 1
  fi
done
out="$PWD/results/network"
duration="${BENCH_DURATION:-10s}"
mkdir -p "$out"

backends=(devnet)
if [[ -n "${FABRIC_BIN:-}" && -n "${FABRIC_CFG_PATH:-}" ]]; then
  backends+=(fabric)
else
  echo "SKIPPED: the fabric backend (FABRIC_BIN and FABRIC_CFG_PATH not set); benchmarking the devnet only"
fi

run_setting() {
  local backend=$1 name=$2 timeout=$3 count=$4
  local home; home=$(mktemp -d /tmp/healthblock-bench-XXXX)
  local cfg="$home.yaml"
  sed -e "s/^  timeout: .*/  timeout: $timeout/" -e "s/^  max_message_count: .*/  max_message_count: $count/" \
    network/consortium.yaml > "$cfg"
  export HEALTHBLOCK_HOME="$home" HEALTHBLOCK_PORT_OFFSET=30000 HEALTHBLOCK_BACKEND="$backend"
  echo "==> $backend, setting $name: BatchTimeout $timeout, MaxMessageCount $count"
  trap '"$hb" network down --purge > /dev/null 2>&1 || true; rm -f "$cfg"' EXIT
  "$hb" --config "$cfg" network up --json > "$out/$backend-$name-up.json"
  # What runs, read back from the network: stop unless it is the backend asked for.
  local running
  running=$("$hb" network status --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["backend"])')
  if [[ "$running" != "$backend" ]]; then
    echo "error: asked for the $backend backend, but network status reports $running running under $home" >&2
    exit 1
  fi
  "$hb" chaincode deploy --name kv > /dev/null
  "$hb" bench --concurrency 1,8,32,128 --duration "$duration" \
    --label "$backend $name ($timeout / $count, $(basename "$(dirname "$hb")") build)" --json > "$out/$backend-$name.json"
  "$hb" network down --purge > /dev/null
  trap - EXIT
  rm -f "$cfg"
}

for backend in "${backends[@]}"; do
  run_setting "$backend" a 2s 10
  run_setting "$backend" b 250ms 100
done
python3 bench/network/report.py "$out"
echo "==> report: $out/report.md"
# The open-loop benchmark: fixed arrival rates, every workload, one devnet.
HB="$hb" scripts/bench-open-loop.sh
# The EHR benchmark (clinical CLI on a fresh devnet) with the same build; on Fabric:
# `HEALTHBLOCK_BACKEND=fabric python3 bench/ehr/run.py` (writes results/ehr-fabric/).
# (run_setting exported HEALTHBLOCK_BACKEND: name the backend here rather than inherit it.)
HB="$hb" HEALTHBLOCK_BACKEND=devnet python3 bench/ehr/run.py
