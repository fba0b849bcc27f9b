#!/usr/bin/env bash
# `make test`: every test of the workspace. Unit tests, the Fabric golden-vector tests,
# and the end-to-end suite (tests/), which starts its own devnet on its own ports and
# state directory, deploys the stand-in chaincode, runs the official Node Gateway SDK
# against it, and stops it. Real-Fabric runs happen only where FABRIC_BIN is set; otherwise
# they are reported as skipped, with the reason, on a line of their own.
set -euo pipefail
cd "$(dirname "$0")/.."

# The Fabric golden vectors are part of the repository (fabric/testdata/v3.1.5).
if [ ! -f fabric/testdata/v3.1.5/expected.json ]; then
  echo "error: the Fabric golden vectors are missing at fabric/testdata/v3.1.5 (is the checkout complete?)" >&2
  exit 1
fi

if [ -z "${FABRIC_BIN:-}" ]; then
  echo "SKIPPED: real-Fabric backend runs: FABRIC_BIN is not set (point it at a Fabric v3.1 release bin/ with FABRIC_CFG_PATH at its config/)"
fi

# Real servers the tests talk to, installed from the registries and cached in .cache/.
echo "==> Fabric CA v1.5.21 (built from the Go module proxy, cached)"
scripts/install-fabric-ca.sh
echo "==> MinIO for the S3 object-store tests (built from the Go module proxy, cached)"
scripts/s3-server.sh start
trap 'scripts/s3-server.sh stop >/dev/null 2>&1 || true' EXIT

echo "==> fuzzing the WBCB format parser for 30 s (cargo-fuzz, nightly)"
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  scripts/fuzz-wbcb.sh 30
else
  echo "SKIPPED: WBCB fuzz run: no nightly Rust toolchain on this machine (the bounded proptest in client/wbcb/tests/malformed.rs still runs)"
fi

echo "==> unit tests of the benchmark reports' shared percentile (bench/stats.py)"
python3 -m unittest discover -s bench -p 'test_*.py'

echo "==> cargo test --workspace"
cargo test --workspace --no-fail-fast 2>&1 | tee target/test-output.log
