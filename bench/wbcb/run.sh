#!/usr/bin/env bash
# WBCB benchmark: Criterion (WBCB with each AEAD vs AES-CBC+HMAC and an
# RSA-OAEP hybrid, 1 KiB..256 MiB; HPKE vs RSA key wraps for 1/10/100
# recipients), `openssl speed` in the same run, and peak RSS of the CLI on a
# 1 GiB file. Writes results/wbcb/report.md and SVG plots (no extra deps:
# python3 standard library only).
#
#   bench/wbcb/run.sh                 full run
#   WBCB_BENCH_FILTER=16MiB bench/wbcb/run.sh   only matching Criterion ids
#   WBCB_RSS_GIB=0 bench/wbcb/run.sh  skip the 1 GiB RSS measurement
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="$ROOT/results/wbcb"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
# Criterion's raw data goes to a git-ignored cache dir of our own.
export CRITERION_HOME="$ROOT/.cache/criterion-wbcb"
RSS_GIB="${WBCB_RSS_GIB:-1}"
mkdir -p "$OUT"
cd "$ROOT"

echo "== CPU"
grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //' | tee "$OUT/cpu.txt"
if grep -qw aes /proc/cpuinfo; then echo "AES-NI: yes" | tee -a "$OUT/cpu.txt"; else echo "AES-NI: no" | tee -a "$OUT/cpu.txt"; fi
# Where and when the figures were measured (the report prints it under each one).
echo "nproc: $(nproc)" | tee -a "$OUT/cpu.txt"
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)" | tee -a "$OUT/cpu.txt"

echo "== Criterion (release profile)"
# A filtered run refreshes only the matching results and keeps the rest.
[[ -n "${WBCB_BENCH_FILTER:-}" ]] || rm -rf "$CRITERION_HOME"
cargo bench -p wbcb --bench wbcb -- ${WBCB_BENCH_FILTER:+"$WBCB_BENCH_FILTER"} 2>&1 | tee "$OUT/criterion.log"

echo "== openssl speed -evp aes-256-gcm"
openssl version | tee "$OUT/openssl-speed.txt"
openssl speed -seconds 3 -evp aes-256-gcm 2>/dev/null | tee -a "$OUT/openssl-speed.txt"

if [[ "$RSS_GIB" != "0" ]]; then
    echo "== peak RSS through the CLI (${RSS_GIB} GiB file)"
    cargo build --release -p healthblock-wbcb-cli
    BIN="$TARGET/release/healthblock-wbcb"
    WORK="$(mktemp -d "${TMPDIR:-/tmp}/wbcb-rss.XXXXXX")"
    trap 'rm -rf "$WORK"' EXIT
    head -c "$((RSS_GIB * 1024))M" /dev/urandom >"$WORK/big.bin"
    "$BIN" keys gen --out-dir "$WORK" --name bench >/dev/null
    /usr/bin/time -v "$BIN" encrypt --to "$WORK/bench.pub.pem" --record-id rss --patient p \
        --out "$WORK/big.wbcb" "$WORK/big.bin" 2>"$OUT/rss-encrypt.txt" >/dev/null
    /usr/bin/time -v "$BIN" decrypt --key "$WORK/bench.key.pem" --out "$WORK/big.out" \
        "$WORK/big.wbcb" 2>"$OUT/rss-decrypt.txt" >/dev/null
    cmp "$WORK/big.bin" "$WORK/big.out"
    echo "$RSS_GIB" >"$OUT/rss-size-gib.txt"
    grep -h -E 'Maximum resident|Elapsed' "$OUT/rss-encrypt.txt" "$OUT/rss-decrypt.txt"
fi

echo "== report"
python3 "$ROOT/bench/wbcb/report.py" "$CRITERION_HOME" "$OUT"
echo "wrote $OUT/report.md"
