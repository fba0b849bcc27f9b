#!/usr/bin/env bash
# `make demo`: start the three-hospital devnet, deploy the stand-in chaincode and
# run the main flow end to end, leaving the network up for the CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
hb=target/debug/healthblock

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "1. Start the consortium network (devnet: Hospital1 x2 peers, Hospital2, Hospital3, one orderer, channel ehr)"
"$hb" network up
"$hb" network status

say "2. Deploy the chaincode as a service (package, TLS server, install/approve/commit through _lifecycle)"
"$hb" chaincode deploy --name kv

key="demo-$(date +%s)"
say "3. Hospital1 submits a transaction through its peer's Fabric Gateway (endorsed by a majority of hospitals)"
"$hb" tx submit --as User1@Hospital1 kv put "$key" "committed by the Rust client on channel ehr"

say "4. Hospital2 reads it back from its own peer"
"$hb" tx evaluate --as User1@Hospital2 kv get "$key"

say "5. Every peer has the same chain: heights, and the hash chain + orderer signatures verified"
"$hb" network status
"$hb" ledger verify --as Admin@Hospital3

say "Done. The network is still running: try '$hb --help', '$hb network status', 'make down' to stop it."
