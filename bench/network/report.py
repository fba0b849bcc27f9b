"""Turns the network benchmark's JSON files (one per backend and batch setting) into
results/network/report.md and an SVG plot. The backend column is what
`healthblock bench` recorded as running (from the network's processes), not the
file name; a file whose recorded backend differs from its name stops the report."""
import json
import pathlib
import sys

out = pathlib.Path(sys.argv[1])
rows = []
for backend in ("devnet", "fabric"):
    for name in ("a", "b"):
        path = out / f"{backend}-{name}.json"
        if not path.exists():
            continue
        report = json.loads(path.read_text())
        ran = report.get("backend", "not recorded")
        if ran not in (backend, "not recorded"):
            raise SystemExit(f"{path}: named {backend} but ran on {ran}")
        up = json.loads((out / f"{backend}-{name}-up.json").read_text())
        up = up.get(backend, up)
        up_s = up["elapsed"]["secs"] + up["elapsed"]["nanos"] / 1e9
        for level in report["levels"]:
            rows.append((f'{report["label"]} [ran on: {ran}]', up_s, level))

lines = [
    "# Network benchmark (both backends, one run)",
    "",
    "MAJORITY endorsement, `put` of a 100-byte value, load from `healthblock bench` on the same machine.",
    "Each level: a warm-up, then the measured window; tx/s counts VALID commits inside the window,",
    "latency percentiles (nearest rank) are over transactions submitted inside it, evaluate latency",
    "is measured beside that level's load. Peak RSS is per process kind (the largest process of that kind).",
    "",
    "| backend, setting | network up (s) | concurrency | committed | failed | tx/s | p50 ms | p95 ms | p99 ms | evaluate p50 ms | peak RSS MiB |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
]
for label, up_s, l in rows:
    rss = l.get("peak_rss_mib") or {}
    rss_s = ", ".join(f"{kind} {mib:.0f}" for kind, mib in sorted(rss.items())) or "-"
    lines.append(
        f"| {label} | {up_s:.2f} | {l['concurrency']} | {l['committed']} | {l['failed']} | {l['tps']:.1f} | "
        f"{l['p50_ms']:.1f} | {l['p95_ms']:.1f} | {l['p99_ms']:.1f} | {l['evaluate_p50_ms']:.1f} | {rss_s} |"
    )
(out / "report.md").write_text("\n".join(lines) + "\n")

# A small SVG: throughput per concurrency level, one polyline per setting.
width, height, pad = 640, 360, 50
series = {}
for label, _, l in rows:
    series.setdefault(label, []).append((l["concurrency"], l["tps"]))
max_tps = max((t for s in series.values() for _, t in s), default=1) or 1
levels = sorted({c for s in series.values() for c, _ in s}) or [1]
def x(c):
    return pad + levels.index(c) * (width - 2 * pad) / max(1, len(levels) - 1)
def y(t):
    return height - pad - t / max_tps * (height - 2 * pad)
colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
       f'<text x="{width/2}" y="20" text-anchor="middle">Committed tx/s by concurrency (MAJORITY)</text>',
       f'<line x1="{pad}" y1="{height-pad}" x2="{width-pad}" y2="{height-pad}" stroke="black"/>',
       f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height-pad}" stroke="black"/>',
       f'<text x="{pad-5}" y="{pad}" text-anchor="end">{max_tps:.0f}</text>']
for c in levels:
    svg.append(f'<text x="{x(c)}" y="{height-pad+15}" text-anchor="middle">{c}</text>')
for i, (label, pts) in enumerate(series.items()):
    color = colors[i % len(colors)]
    svg.append('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>' % (color, " ".join(f"{x(c)},{y(t)}" for c, t in pts)))
    svg.append(f'<text x="{width-pad}" y="{pad + 15*i}" text-anchor="end" fill="{color}">{label}</text>')
svg.append("</svg>")
(out / "throughput.svg").write_text("\n".join(svg))
print("\n".join(lines))
