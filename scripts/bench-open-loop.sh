#!/usr/bin/env bash
# The open-loop benchmark (`healthblock bench --open-loop`) on one fresh
# devnet, release build: every workload at rising offered rates, one JSON
# file per workload in results/open-loop/ and results/open-loop/report.md
# (maximum committed tx/s per workload, the EHR put_record / kv put ratio).
# Run it under `flock -o /tmp/e2e.lock` where other jobs share the machine (-o: the
# network processes it starts must not inherit the lock).
#
#   BENCH_RATES       noop and kv rates, default 400,600,800,1000,1300,1600,2000,2500
#   BENCH_EHR_RATES   EHR rates, default 100,200,300,400,500,600,800
#   BENCH_WORKLOADS   default "noop kv-put kv-get ehr-put-record ehr-request-access ehr-list-by-patient"
#   BENCH_DURATION / BENCH_WARMUP   measured window / warm-up of each step (10s / 3s)
#   BENCH_CONFIG      consortium description (default network/consortium.yaml: 250ms / 100, MAJORITY)
#   BENCH_USE_RUNNING=1  use the network already running (HEALTHBLOCK_HOME etc. name it; kv and
#                     ehr deployed): no network up/down (scripts/bench-vs-caliper.sh uses it)
set -euo pipefail
cd "$(dirname "$0")/.."
hb="${HB:-$PWD/target/release/healthblock}"
bin="$(dirname "$hb")"
out="${BENCH_OUT:-$PWD/results/open-loop}"
rates="${BENCH_RATES:-400,600,800,1000,1300,1600,2000,2500}"
ehr_rates="${BENCH_EHR_RATES:-100,200,300,400,500,600,800}"
workloads="${BENCH_WORKLOADS:-noop kv-put kv-get ehr-put-record ehr-request-access ehr-list-by-patient}"
duration="${BENCH_DURATION:-10s}"
warmup="${BENCH_WARMUP:-3s}"
config="${BENCH_CONFIG:-network/consortium.yaml}"
mkdir -p "$out"

if [[ "${BENCH_USE_RUNNING:-}" == 1 ]]; then
  echo "==> the running network under ${HEALTHBLOCK_HOME:?} ($(basename "$bin") build of $hb)"
  doctor="bench-doctor-$$"
else
  home=$(mktemp -d /tmp/healthblock-openloop-XXXX)
  export HEALTHBLOCK_HOME="$home" HEALTHBLOCK_PORT_OFFSET="${BENCH_PORT_OFFSET:-32000}" HEALTHBLOCK_BACKEND=devnet
  trap '"$hb" network down --purge > /dev/null 2>&1 || true; rm -rf "$home"' EXIT
  echo "==> fresh devnet under $home ($(basename "$bin") build of $hb)"
  "$hb" --config "$config" network up --json > "$out/network-up.json"
  doctor=bench-doctor
fi
running=$("$hb" network status --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["backend"])')
if [[ -z "${BENCH_USE_RUNNING:-}" && "$running" != devnet ]]; then
  echo "error: asked for the devnet, but network status reports $running running under $HEALTHBLOCK_HOME" >&2
  exit 1
fi
if [[ -z "${BENCH_USE_RUNNING:-}" ]]; then
  "$hb" chaincode deploy --name kv > /dev/null
  "$hb" chaincode deploy --name ehr --policy every-org --binary "$bin/healthblock-ehrcc" > /dev/null
fi
"$hb" user register --org Hospital1 --name "$doctor" --role doctor --secret "pw-$doctor" > /dev/null
"$hb" user enroll --org Hospital1 --name "$doctor" --secret "pw-$doctor" > /dev/null

for w in $workloads; do
  case "$w" in
    ehr-*) r="$ehr_rates"; who="$doctor@Hospital1" ;;
    *) r="$rates"; who=User1@Hospital1 ;;
  esac
  echo "==> $w at $r tx/s (warm-up $warmup, window $duration each); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  "$hb" bench --open-loop --workload "$w" --as "$who" --rate "$r" --warmup "$warmup" --duration "$duration" \
    --label "$w, $running" --json > "$out/$w.json"
done
python3 bench/openloop/report.py "$out"
echo "==> report: $out/report.md"
