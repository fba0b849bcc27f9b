#!/usr/bin/env bash
# The open-loop benchmark (`healthblock bench --open-loop`) on one fresh
# devnet, release build: every workload at rising offered rates, one JSON
# file per workload in results/open-loop/ and results/open-loop/report.md
# (maximum committed tx/s per workload, the EHR put_record / kv put ratio).
# Run it under `flock /tmp/e2e.lock` where other jobs share the machine.
#
#   BENCH_RATES       kv rates, default 500,1000,1500,2000,2500,3000,3500
#   BENCH_EHR_RATES   EHR rates, default the same
#   BENCH_WORKLOADS   default "noop kv-put kv-get ehr-put-record ehr-request-access ehr-list-by-patient"
#   BENCH_DURATION / BENCH_WARMUP   measured window / warm-up of each step (10s / 3s)
#   BENCH_CONFIG      consortium description (default network/consortium.yaml: 250ms / 100, MAJORITY)
set -euo pipefail
cd "$(dirname "$0")/.."
hb="${HB:-$PWD/target/release/healthblock}"
bin="$(dirname "$hb")"
out="${BENCH_OUT:-$PWD/results/open-loop}"
rates="${BENCH_RATES:-500,1000,1500,2000,2500,3000,3500}"
ehr_rates="${BENCH_EHR_RATES:-$rates}"
workloads="${BENCH_WORKLOADS:-noop kv-put kv-get ehr-put-record ehr-request-access ehr-list-by-patient}"
duration="${BENCH_DURATION:-10s}"
warmup="${BENCH_WARMUP:-3s}"
config="${BENCH_CONFIG:-network/consortium.yaml}"
mkdir -p "$out"

home=$(mktemp -d /tmp/healthblock-openloop-XXXX)
export HEALTHBLOCK_HOME="$home" HEALTHBLOCK_PORT_OFFSET="${BENCH_PORT_OFFSET:-32000}" HEALTHBLOCK_BACKEND=devnet
trap '"$hb" network down --purge > /dev/null 2>&1 || true; rm -rf "$home"' EXIT
echo "==> fresh devnet under $home ($(basename "$bin") build of $hb)"
"$hb" --config "$config" network up --json > "$out/network-up.json"
running=$("$hb" network status --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["backend"])')
if [[ "$running" != devnet ]]; then
  echo "error: asked for the devnet, but network status reports $running running under $home" >&2
  exit 1
fi
"$hb" chaincode deploy --name kv > /dev/null
"$hb" chaincode deploy --name ehr --binary "$bin/healthblock-ehrcc" > /dev/null
"$hb" user register --org Hospital1 --name bench-doctor --role doctor --secret pw-bench-doctor > /dev/null
"$hb" user enroll --org Hospital1 --name bench-doctor --secret pw-bench-doctor > /dev/null

for w in $workloads; do
  case "$w" in
    ehr-*) r="$ehr_rates"; who=bench-doctor@Hospital1 ;;
    *) r="$rates"; who=User1@Hospital1 ;;
  esac
  echo "==> $w at $r tx/s (warm-up $warmup, window $duration each); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  "$hb" bench --open-loop --workload "$w" --as "$who" --rate "$r" --warmup "$warmup" --duration "$duration" \
    --label "$w, devnet $(basename "$config")" --json > "$out/$w.json"
done
python3 bench/openloop/report.py "$out"
echo "==> report: $out/report.md"
