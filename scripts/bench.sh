#!/usr/bin/env bash
# `make bench`: the devnet benchmark. For each batch setting, a fresh devnet (own
# home, ports shifted by 30000) with MAJORITY endorsement; `healthblock bench` at
# concurrency 1, 8, 32, 128; `network up` time; devnet RSS. Writes
# results/devnet/<setting>.json and results/devnet/report.md.
set -euo pipefail
cd "$(dirname "$0")/.."
hb="${HB:-$PWD/target/release/healthblock}"
out="$PWD/results/devnet"
duration="${BENCH_DURATION:-10s}"
mkdir -p "$out"

run_setting() {
  local name=$1 timeout=$2 count=$3
  local home; home=$(mktemp -d /tmp/healthblock-bench-XXXX)
  local cfg="$home.yaml"
  sed -e "s/^  timeout: .*/  timeout: $timeout/" -e "s/^  max_message_count: .*/  max_message_count: $count/" \
    network/consortium.yaml > "$cfg"
  export HEALTHBLOCK_HOME="$home" HEALTHBLOCK_PORT_OFFSET=30000
  echo "==> setting $name: BatchTimeout $timeout, MaxMessageCount $count"
  "$hb" --config "$cfg" network up --json > "$out/$name-up.json"
  "$hb" chaincode deploy --name kv > /dev/null
  "$hb" bench --concurrency 1,8,32,128 --duration "$duration" --label "$name ($timeout / $count, $(basename "$(dirname "$hb")") build)" --json > "$out/$name.json"
  "$hb" network down --purge > /dev/null
  rm -f "$cfg"
}

run_setting a 2s 10
run_setting b 250ms 100
python3 bench/devnet/report.py "$out"
echo "==> report: $out/report.md"
