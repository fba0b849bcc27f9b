#!/usr/bin/env bash
# `make demo`: start the three-hospital network (the devnet, or native Fabric with
# HEALTHBLOCK_BACKEND=fabric and FABRIC_BIN/FABRIC_CFG_PATH; one Fabric CA per hospital),
# then tell HealthBlock's story end to end with the EHR contract, leaving the
# network up for the CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
hb=target/debug/healthblock

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

if [[ "${HEALTHBLOCK_BACKEND:-devnet}" == fabric ]]; then
  say "Start the consortium network (native Fabric: Hospital1 x2 peers, Hospital2, Hospital3, 3 Raft orderers, channel ehr; one Fabric CA per hospital)"
else
  say "Start the consortium network (devnet: Hospital1 x2 peers, Hospital2, Hospital3, one orderer, channel ehr; one Fabric CA per hospital)"
fi
"$hb" network up
"$hb" network status

scripts/demo-ehr.sh

say "Every peer holds the same chain: heights, and the hash chain + orderer signatures verified from block 0"
"$hb" network status
"$hb" ledger verify --as Admin@Hospital3

say "Done. The network is still running: try '$hb --help', '$hb network status', 'make down' to stop it."
