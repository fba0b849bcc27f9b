"""Turns the open-loop benchmark's JSON files (one per workload, from
`healthblock bench --open-loop --json`) into results/open-loop/report.md:
per workload and rate step the offered rate, committed tx/s, latency
percentiles (HdrHistogram), failures, block statistics and CPU seconds; then
each workload's maximum committed tx/s and the EHR put_record / kv put ratio.
Every figure comes from the JSON files; where and how they ran (host, CPUs,
load average, build profile, backend read back from the network) is copied
from them."""
import json
import pathlib
import sys

out = pathlib.Path(sys.argv[1])
order = ["noop", "kv-put", "kv-get", "ehr-put-record", "ehr-request-access", "ehr-list-by-patient"]
reports = {}
for name in order:
    path = out / f"{name}.json"
    if path.exists():
        reports[name] = json.loads(path.read_text())
if not reports:
    raise SystemExit(f"no open-loop results in {out}")


def spread(s, key, fmt="{:.0f}"):
    v = s["blocks"].get(key)
    return "-" if not v else f'{fmt.format(v["mean"])} / {fmt.format(v["p50"])} / {fmt.format(v["max"])}'


lines = ["# Open-loop benchmark", ""]
first = next(iter(reports.values()))
env = first["environment"]
lines += [
    f'Backend (read back from the running network): {first["backend"]}; '
    f'BatchTimeout {first["batch_timeout_ms"]} ms, MaxMessageCount {first["max_message_count"]}, '
    f'endorsement `{first["endorsement_policy"]}`; {first["connections"]} gateway connections.',
    f'Ran on host `{env["host"]}` with {env["cpus"]} CPUs (network and load generator on the same CPUs), '
    f'{env["build_profile"]} build, started {env["started_at"]}.',
    "",
    "Latency runs from each transaction's scheduled send time to its VALID commit (evaluated",
    "workloads: to the answer); percentiles from an HdrHistogram of the transactions due in the",
    "measured window. Committed tx/s counts the successes that finished inside the window.",
    "",
]
best = {}
for name, r in reports.items():
    e = r["environment"]
    lines += [
        f'## {name} ({"submitted" if r["submitted"] else "evaluated"}, chaincode `{r["chaincode"]}`)',
        "",
        f'Load average {e["load_average_start"]} at the start, {e["load_average_end"]} at the end.',
        "",
        "| offered /s | committed tx/s | due | ok | failed | p50 ms | p95 ms | p99 ms | p99.9 ms | max ms | send lag p99 ms | blocks | tx/block mean/p50/max | bytes/block mean/p50/max | block interval ms mean/p50/max | CPU s (window) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in r["steps"]:
        lat = s["latency"]
        cpu = ", ".join(f"{k} {v:.1f}" for k, v in sorted(s["cpu_seconds"].items()) if v > 0) or "-"
        lines.append(
            f'| {s["offered_rate"]:.0f} | {s["committed_tps"]:.1f} | {s["scheduled"]} | {s["committed"]} | {s["failed"]} '
            f'| {lat["p50_ms"]:.1f} | {lat["p95_ms"]:.1f} | {lat["p99_ms"]:.1f} | {lat["p99_9_ms"]:.1f} | {lat["max_ms"]:.1f} '
            f'| {s["send_lag"]["p99_ms"]:.1f} | {s["blocks"]["blocks"]} | {spread(s, "transactions_per_block", "{:.1f}")} '
            f'| {spread(s, "block_bytes")} | {spread(s, "interval_ms")} | {cpu} |'
        )
        for reason, n in sorted(s["failures"].items()):
            lines.append(f"|  | {n} x {reason} |" + " |" * 14)
    best[name] = max(r["steps"], key=lambda s: s["committed_tps"])
    lines.append("")
lines += ["## Maximum committed tx/s per workload", "", "| workload | max committed tx/s | at offered /s | failed in that step |", "|---|---|---|---|"]
for name, s in best.items():
    lines.append(f'| {name} | {s["committed_tps"]:.1f} | {s["offered_rate"]:.0f} | {s["failed"]} |')
if "kv-put" in best and "ehr-put-record" in best:
    ratio = best["ehr-put-record"]["committed_tps"] / best["kv-put"]["committed_tps"]
    lines += ["", f"EHR put_record / kv put (maximum committed tx/s): {ratio:.2f}"]
(out / "report.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines[-(len(best) + 6):]))
