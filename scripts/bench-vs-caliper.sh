#!/usr/bin/env bash
# The Rust open-loop generator against Hyperledger Caliper on the same network in one run:
# a fresh release devnet (250 ms / 100, MAJORITY), `scripts/caliper.sh` (every round of
# caliper/benchmarks/healthblock.yaml), then `scripts/bench-open-loop.sh` on that same network;
# bench/openloop/vs_caliper.py prints, per workload, the maximum committed tx/s of each and
# their ratio (results/open-loop/vs-caliper/report.md). Run it under `flock -o /tmp/e2e.lock`.
# Needs Caliper installed (make caliper-deps) and the release binaries.
set -euo pipefail
cd "$(dirname "$0")/.."
hb="${HB:-$PWD/target/release/healthblock}"
out="${BENCH_OUT:-$PWD/results/open-loop/vs-caliper}"
mkdir -p "$out"
home=$(mktemp -d /tmp/healthblock-vs-caliper-XXXX)
export HB="$hb" HEALTHBLOCK_HOME="$home" HEALTHBLOCK_PORT_OFFSET="${BENCH_PORT_OFFSET:-32500}" HEALTHBLOCK_BACKEND=devnet
trap '"$hb" network down --purge > /dev/null 2>&1 || true; rm -rf "$home"' EXIT
echo "==> fresh devnet under $home"
"$hb" --config "${BENCH_CONFIG:-network/consortium.yaml}" network up --json > "$out/network-up.json"
rm -rf "$out/caliper"
scripts/caliper.sh --out "$out/caliper"
BENCH_USE_RUNNING=1 BENCH_OUT="$out" scripts/bench-open-loop.sh
python3 bench/openloop/vs_caliper.py "$out" "$out/caliper"
