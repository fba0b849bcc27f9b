#!/usr/bin/env bash
# `make caliper`: Hyperledger Caliper (caliper/, pinned in caliper/package-lock.json) against the
# network that is running (`make demo` or `healthblock network up`; HEALTHBLOCK_HOME,
# HEALTHBLOCK_PORT_OFFSET and HEALTHBLOCK_BACKEND name it as for the CLI), on either backend.
#
#   scripts/caliper.sh [--benchmark caliper/benchmarks/healthblock.yaml] [--out DIR]
#
# 1. checks the network runs (`network status --json`: the backend is read back from it);
# 2. deploys the kv and ehr chaincodes only if they do not answer, and enrols a doctor at
#    each hospital that has none in the wallet (`caliper-doctor-<run>`);
# 3. writes Caliper's network configuration and connection profiles
#    (`healthblock caliper config`) into DIR/config;
# 4. runs `caliper launch manager` with the Peer Gateway connector: report DIR/report.html,
#    its output DIR/caliper.log, every transaction's times in DIR/tx/ (caliper/observers/tx-latency.js);
# 5. writes DIR/summary.json and DIR/summary.md (bench/caliper_summary.py: per round succeeded,
#    failed, send rate, throughput, p50/p95/p99 latency, backend and machine).
# Exits non-zero if Caliper fails, if any round is missing or has a failed transaction or an
# unexpected answer (Caliper itself exits 0 when transactions fail).
# Default DIR: results/caliper/<UTC time>-<backend>.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
hb=${HB:-$repo/target/debug/healthblock}
bench=caliper/benchmarks/healthblock.yaml
out=
while [ $# -gt 0 ]; do
  case $1 in
    --benchmark) bench=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "error: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ -x "$hb" ] || { echo "error: $hb is missing: build it first (make build)" >&2; exit 1; }
[ -f "$bench" ] || { echo "error: no benchmark configuration at $bench" >&2; exit 1; }
bench=$(realpath "$bench")
if [ ! -x caliper/node_modules/.bin/caliper ]; then
  echo "error: Caliper is not installed in caliper/node_modules: run make caliper-deps (npm ci in caliper/)" >&2
  exit 1
fi

json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]] or "")' "$1"; }

echo "==> the running network"
if ! status=$("$hb" network status --json); then
  echo "error: no healthy network runs (start one with make demo or healthblock network up)" >&2
  exit 1
fi
backend=$(printf '%s' "$status" | json_field backend)
[ -n "$backend" ] || { echo "error: network status names no running backend" >&2; exit 1; }
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=${out:-results/caliper/$stamp-$backend}
mkdir -p "$out"
out=$(realpath "$out")
printf '%s\n' "$status" >"$out/network-status.json"
echo "   backend $backend; results in $out"

orgs=$(printf '%s' "$status" | python3 -c '
import json, sys
print(" ".join(sorted({n["org"] for n in json.load(sys.stdin)["nodes"] if n.get("kind") == "peer"})))')
first_org=${orgs%% *}

echo "==> chaincodes kv and ehr (deployed only if they do not answer)"
if ! "$hb" tx evaluate --as "Admin@$first_org" kv noop >/dev/null 2>&1; then
  "$hb" chaincode deploy --name kv
fi
if ! "$hb" tx evaluate --as "Admin@$first_org" ehr whoami >/dev/null 2>&1; then
  "$hb" chaincode deploy --name ehr --policy every-org --binary "$(dirname "$hb")/healthblock-ehrcc"
fi

echo "==> a doctor at every hospital (enrolled at its Fabric CA if the wallet has none)"
users=$("$hb" user list --json)
for org in $orgs; do
  has=$(printf '%s' "$users" | python3 -c '
import json, sys
print(any(u["org"] == sys.argv[1] and u.get("role") == "doctor" for u in json.load(sys.stdin)))' "$org")
  if [ "$has" != True ]; then
    name="caliper-doctor-$(printf '%s' "$org" | tr 'A-Z' 'a-z')-$stamp"
    secret=$("$hb" user register --org "$org" --name "$name" --role doctor --json | json_field secret)
    "$hb" user enroll --org "$org" --name "$name" --secret "$secret" >/dev/null
    echo "   $name@$org (doctor) enrolled"
  fi
done

echo "==> Caliper's network configuration, generated from the running network"
"$hb" caliper config --out "$out/config" --json >"$out/config.json"
echo "==> each doctor's own encryption key on the ledger (request_access names it)"
for who in $(python3 -c '
import json, sys
for i in json.load(open(sys.argv[1]))["identities"]:
    if i["name"] == "doctor":
        print(i["user"])' "$out/config.json"); do
  if ! "$hb" keydir show --as "$who" --user "$who" --json >/dev/null 2>&1; then
    "$hb" keydir publish --as "$who" --json >/dev/null
    echo "   $who published their key"
  fi
done

# The rounds the benchmark asks for: the summary fails on any that did not run.
node -e '
const yaml = require(process.argv[1]);
const doc = yaml.load(require("fs").readFileSync(process.argv[2], "utf8"));
console.log(JSON.stringify(doc.test.rounds.map((r) => r.label)));' \
  "$repo/caliper/node_modules/js-yaml" "$bench" >"$out/rounds.json"

echo "==> caliper launch manager ($(basename "$bench"))"
rm -rf "$out/tx"
caliper_rc=0
(
  cd caliper
  HB_CALIPER_CONFIG="$out/config" HB_CALIPER_TXLOG="$out/tx" HB_CALIPER_RUN="$stamp" \
    node_modules/.bin/caliper launch manager \
    --caliper-workspace . \
    --caliper-networkconfig "$out/config/networkconfig.yaml" \
    --caliper-benchconfig "$bench" \
    --caliper-flow-only-test \
    --caliper-report-path "$out/report.html" \
    --caliper-progress-reporting-interval 1000 \
    2>&1 | tee "$out/caliper.log"
) || caliper_rc=$?
if [ "$caliper_rc" -ne 0 ]; then
  echo "error: caliper exited with status $caliper_rc" >&2
fi

echo "==> summary (per-transaction latencies, nearest-rank percentiles)"
summary_rc=0
python3 bench/caliper_summary.py --run "$out" --benchmark "$bench" --binary "$hb" || summary_rc=$?
[ "$caliper_rc" -eq 0 ] && [ "$summary_rc" -eq 0 ]
