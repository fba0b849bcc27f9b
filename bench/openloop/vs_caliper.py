"""The Rust open-loop generator against Caliper on the same network: per
workload, the maximum committed tx/s of `healthblock bench --open-loop`
(DIR/<workload>.json, the best rate step) and Caliper's maximum throughput
(CALIPER_DIR/summary.json, the best of that workload's rounds), and their
ratio. Writes DIR/report-vs-caliper.md and prints it. Both must report the
same backend (read back from the network), or it stops.

    python3 bench/openloop/vs_caliper.py DIR CALIPER_DIR
"""
import json
import pathlib
import sys

ours_dir, caliper_dir = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
caliper = json.loads((caliper_dir / "summary.json").read_text())
caliper_backend = caliper["network"].get("backend") if isinstance(caliper.get("network"), dict) else None
lines = [
    "# Rust open-loop generator vs Caliper (same network, one run)",
    "",
    "| workload | Rust max committed tx/s (offered) | Caliper max throughput tx/s (round) | ratio Rust / Caliper |",
    "|---|---|---|---|",
]
for path in sorted(ours_dir.glob("*.json")):
    if path.name in ("network-up.json",):
        continue
    ours = json.loads(path.read_text())
    if "steps" not in ours:
        continue
    if caliper_backend and ours["backend"] != caliper_backend:
        raise SystemExit(f"{path}: ran on {ours['backend']}, Caliper on {caliper_backend}")
    w = ours["workload"]
    best = max(ours["steps"], key=lambda s: s["committed_tps"])
    rounds = [r for r in caliper["rounds"] if r["label"].startswith(w + "-") and r.get("ran")]
    if not rounds:
        lines.append(f'| {w} | {best["committed_tps"]:.1f} ({best["offered_rate"]:.0f}/s) | no Caliper round | - |')
        continue
    top = max(rounds, key=lambda r: r["throughput_tps"])
    ratio = best["committed_tps"] / top["throughput_tps"] if top["throughput_tps"] else float("inf")
    lines.append(
        f'| {w} | {best["committed_tps"]:.1f} ({best["offered_rate"]:.0f}/s) '
        f'| {top["throughput_tps"]:.1f} ({top["label"]}) | {ratio:.2f} |'
    )
env = ours["environment"]
lines += [
    "",
    f'Backend {ours["backend"]} (read back by both); host `{env["host"]}`, {env["cpus"]} CPUs, '
    f'generator {env["build_profile"]} build; Caliper summary `{caliper_dir}`.',
]
(ours_dir / "report-vs-caliper.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
