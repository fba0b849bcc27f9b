#!/usr/bin/env bash
# `make caliper-vs-generator`: on the running network, in one run, Caliper's highest committed
# throughput for 100-byte kv puts (caliper/benchmarks/max.yaml through scripts/caliper.sh) and then
# the Rust open-loop generator's (`healthblock bench --open-loop --workload kv-put`, rate steps
# GEN_RATES), and the ratio of the two maxima. Writes DIR/summary.* (Caliper), DIR/generator.json
# and DIR/comparison.json; prints the ratio. A benchmark: it asserts nothing about the numbers,
# but fails if either run fails (Caliper's summary fails on any failed transaction).
#
#   scripts/caliper-vs-generator.sh [--out DIR]     (default results/caliper-vs-generator/<UTC>-<backend>)
set -euo pipefail
cd "$(dirname "$0")/.."
hb=${HB:-$PWD/target/release/healthblock}
rates=${GEN_RATES:-500,1000,2000,3000,4000}
out=
while [ $# -gt 0 ]; do
  case $1 in
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "error: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ -x "$hb" ] || { echo "error: $hb is missing: build it first (cargo build --release --workspace --bins)" >&2; exit 1; }
backend=$("$hb" network status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["backend"] or "")')
[ -n "$backend" ] || { echo "error: no network runs (make demo, or healthblock network up)" >&2; exit 1; }
out=${out:-results/caliper-vs-generator/$(date -u +%Y%m%dT%H%M%SZ)-$backend}
mkdir -p "$out"
echo "==> Caliper, highest committed kv-put throughput ($backend)"
HB="$hb" scripts/caliper.sh --benchmark caliper/benchmarks/max.yaml --out "$out"
echo "==> the Rust open-loop generator, kv-put at $rates tx/s ($backend, same network)"
"$hb" bench --open-loop --workload kv-put --rate "$rates" --duration 10s --warmup 2s \
  --label "caliper-vs-generator" --json >"$out/generator.json"
python3 - "$out" <<'PY'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
cal = json.loads((out / "summary.json").read_text())
gen = json.loads((out / "generator.json").read_text())
cal_max = max(r["throughput_tps"] for r in cal["rounds"] if r.get("ran"))
gen_max = max(s["committed_tps"] for s in gen["steps"])
backend = gen["backend"]
if cal.get("network", {}).get("backend") not in (None, backend):
    raise SystemExit(f"Caliper ran on {cal['network']['backend']}, the generator on {backend}")
result = {
    "backend": backend,
    "generator_build": gen["environment"]["build_profile"],
    "caliper_max_tps": cal_max,
    "generator_max_tps": gen_max,
    "ratio": gen_max / cal_max if cal_max else None,
    "caliper_rounds": {r["label"]: r["throughput_tps"] for r in cal["rounds"]},
    "generator_steps": {f"{s['offered_rate']:.0f}": s["committed_tps"] for s in gen["steps"]},
    "load_average_end": gen["environment"].get("load_average_end"),
}
(out / "comparison.json").write_text(json.dumps(result, indent=1))
print(f"on {backend}: Rust generator max {gen_max:.1f} tx/s vs Caliper max {cal_max:.1f} tx/s: "
      f"ratio {result['ratio']:.2f} (generator {result['generator_build']} build)")
PY
