#!/usr/bin/env python3
"""Turns the study's JSON files (results/study/<backend>/<cell>.json, written by
bench/study/run.py from `healthblock bench --open-loop --json`) into
results/study/report.md and SVG plots. Every number printed comes from those
files; the backend column is what the generator recorded as running.

Block build time: the generator cannot see inside the orderer, so the report uses
the closest observable measure, the interval between consecutive blocks as the
gateway peer delivers them during the measured window (under continuous load the
next block's first transaction arrives right after the previous cut, so this is
first arrival to cut plus constant delivery delay).

Usage: report.py RESULTS_DIR
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import svgplot  # noqa: E402

TIMEOUTS = ["50ms", "250ms", "1s", "2s"]


def load(out):
    cells = {}
    for backend_dir in sorted(p for p in out.iterdir() if p.is_dir() and p.name in ("devnet", "fabric")):
        rows = []
        for f in sorted(backend_dir.glob("*.json")):
            r = json.loads(f.read_text())
            if "cell" not in r:
                continue
            if r.get("backend") != backend_dir.name:
                raise SystemExit(f"{f}: under {backend_dir.name} but ran on {r.get('backend')}")
            rows.append(r)
        if rows:
            order = {"ANY": 0, "MAJORITY": 1, "ALL": 2, "MAJORITY+SBE": 3, "EHR": 3}
            rows.sort(key=lambda r: (ms_of(r["cell"]["timeout"]), r["cell"]["count"], r["cell"]["preferred"],
                                     order.get(r["cell"]["policy"], 9), r["cell"]["payload"]))
            cells[backend_dir.name] = rows
    return cells


def ms_of(timeout):
    return float(timeout[:-2]) if timeout.endswith("ms") else float(timeout[:-1]) * 1000


def peak(r):
    return max(s["committed_tps"] for s in r["steps"])


def step_at(r, i):
    return r["steps"][i] if i < len(r["steps"]) else None


def cpu_ms_per_tx(step):
    total = sum(step.get("cpu_seconds", {}).values())
    n = step.get("committed_in_window", 0)
    return total * 1000 / n if n and total else None


def spread(step, key):
    v = (step.get("blocks") or {}).get(key)
    return v["mean"] if v else None


def fmt(v, nd=1):
    return "–" if v is None else f"{v:.{nd}f}"


def is_base(c, **override):
    base = {"timeout": "250ms", "count": 100, "preferred": 524288, "policy": "MAJORITY", "payload": 100}
    base.update(override)
    return all(c[k] == v for k, v in base.items())


def mean_of(samples, metric):
    vals = [x[metric] for x in samples if metric in x]
    return sum(vals) / len(vals) if vals else None


def tune_section(out, backend):
    tdir = out / backend / "tune"
    if not (tdir / "live.json").exists():
        return []
    peak = json.loads((tdir / "peak.json").read_text())
    grid = json.loads((tdir / "grid.json").read_text())
    cmp = json.loads((tdir / "compare.json").read_text())
    live = json.loads((tdir / "live.json").read_text())
    for name, r in (("peak", peak), ("grid", grid), ("live", live)):
        if r.get("backend") != backend:
            raise SystemExit(f"{tdir}/{name}.json: under {backend} but ran on {r.get('backend')}")
    top = max(s["committed_tps"] for s in peak["steps"])
    steps_text = ", ".join(f"{s['offered_rate']:.0f}" for s in peak["steps"])
    lines = [f"## Tuning on {backend} (ran on: {live['backend']}; {live['environment']['build_profile']} build)", "",
             f"Default 2 s / 10: peak {top:.0f} committed tx/s (open-loop steps "
             f"{steps_text}); every measurement below offers "
             f"**{live['offered_rate']:.0f} tx/s** (50% of that peak). Objective: `{live['objective']}`.", ""]
    # The measured grid.
    table = json.loads((tdir / "grid-table.json").read_text())["rows"]
    timeouts = sorted({r["params"]["batch_timeout_ms"] for r in table})
    counts = sorted({r["params"]["max_message_count"] for r in table})

    def cell(t, n, metric):
        r = next((r for r in table if r["params"]["batch_timeout_ms"] == t and r["params"]["max_message_count"] == n), None)
        return mean_of(r["samples"], metric) if r else None
    p95 = [[cell(t, n, "p95_ms") for n in counts] for t in timeouts]
    (out / f"{backend}-tune-grid-p95.svg").write_text(svgplot.heatmap(
        [f"{t:.0f} ms" for t in timeouts], [f"{n:.0f}" for n in counts], p95,
        f"{backend}: p95 ms at {live['offered_rate']:.0f} tx/s (mean of repeats)", "BatchTimeout", "MaxMessageCount",
        higher_is_better=False))
    lines += [f"Measured grid ({len(table)} points x {len(table[0]['samples'])} repeats, live config updates): "
              f"![{backend} tuning grid]({backend}-tune-grid-p95.svg)", ""]
    # The comparison on the measured grid.
    lines += [f"Optimisers on the measured grid ({len(cmp['methods'][0]['runs'])} seeds, budget "
              f"{cmp['budget']['evaluations']} of {cmp['reference_evaluations']} evaluations = "
              f"{cmp['budget_fraction'] * 100:.0f}%; grid optimum {cmp['optimum']['value']:.1f}):", "",
              "| method | median gap to grid optimum % | seeds within 5% | median gap to full grid search % | median evaluations |",
              "|---|---|---|---|---|"]
    for m in cmp["methods"]:
        lines.append(f"| {m['name']} | {fmt(m['median_gap_pct'], 2)} | {m['runs_within_target']}/{len(m['runs'])} | "
                     f"{fmt(m['median_gap_to_grid_search_pct'], 2)} | {m['median_evaluations']:.0f} |")
    whale = next((m for m in cmp["methods"] if m["name"] == "whale"), None)
    if whale and whale["median_gap_pct"] is not None:
        ok = whale["median_gap_pct"] <= 5.0 and cmp["budget_fraction"] <= 1 / 3 + 1e-9
        lines += ["", f"- Whale within 5% of the grid optimum with at most a third of the grid's evaluations "
                  f"(median over seeds): **{'met' if ok else 'not met'}** ({whale['median_gap_pct']:.2f}%)."]
    # The live run.
    b, a = live["before"], live.get("after")
    lines += ["", f"Live whale run (budget {live['budget']['evaluations']} measurements, seed {live['seed']}), then applied:", "",
              "| setting | BatchTimeout ms | MaxMessageCount | committed tx/s | p50 ms | p95 ms | p99 ms |", "|---|---|---|---|---|---|---|"]
    for label, st in (("before (default)", b), ("after (tuned)", a)):
        if st:
            lines.append(f"| {label} | {st['timeout_ms']} | {st['max_message_count']} | {fmt(mean_of(st['samples'], 'tps'))} | "
                         f"{fmt(mean_of(st['samples'], 'p50_ms'))} | {fmt(mean_of(st['samples'], 'p95_ms'))} | "
                         f"{fmt(mean_of(st['samples'], 'p99_ms'))} |")
    if a:
        pb, pa = mean_of(b["samples"], "p95_ms"), mean_of(a["samples"], "p95_ms")
        tb, ta = mean_of(b["samples"], "tps"), mean_of(a["samples"], "tps")
        ok = pa <= pb / 4 and abs(ta - tb) <= 0.05 * tb
        lines += ["", f"- Tuned p95 at 50% load {pa:.1f} ms vs default {pb:.1f} ms = {pa / pb:.2f}x, throughput "
                  f"{ta:.0f} vs {tb:.0f} tx/s: target (<= 1/4 at equal throughput, within 5%) **{'met' if ok else 'not met'}**."]
    return lines + [""]


def main():
    out = Path(sys.argv[1])
    meta = json.loads((out / "meta.json").read_text()) if (out / "meta.json").exists() else {}
    cells = load(out)
    lines = ["# Ordering-service study", ""]
    m = meta.get("machine", {})
    lines += [
        f"Ran {meta.get('started', '?')} to {meta.get('finished', '?')} on {m.get('cpus', '?')} CPUs "
        f"({m.get('cpu', '?')}), grid `{meta.get('grid', '?')}`, open-loop rate steps {meta.get('rates', '?')} tx/s, "
        f"each {meta.get('warmup', '?')} warm-up + {meta.get('duration', '?')} measured. "
        "Reproduce with `make study` (release build; `STUDY_GRID=full` for the whole grid).",
        "",
        "Each cell is a fresh network with the cell's BatchTimeout, MaxMessageCount, PreferredMaxBytes and "
        "channel endorsement policy; the load is `healthblock bench --open-loop` (latency from each "
        "transaction's scheduled send time to its VALID commit, HdrHistogram). Blocks are read from the "
        "gateway peer's delivered blocks; *block interval* is the closest observable measure of block build "
        "time (see bench/study/report.py). CPU is user+system seconds of every network process over the "
        "window, per committed transaction. MAJORITY+SBE (runs before 2026-12-07 12:00Z) is the EHR "
        "contract's `put_record` under MAJORITY with a home-hospital key-level policy on every patient key; "
        "EHR (later runs) is `put_record` under the contract's own policy, a peer of every hospital.",
        "",
    ]
    for backend, rows in cells.items():
        profiles = sorted({r.get("environment", {}).get("build_profile", "?") for r in rows})
        lines += [f"## {backend} (ran on: {backend}; client build: {', '.join(profiles)})", ""]
        lines += ["| cell | offered tx/s | committed tx/s | failed | p50 ms | p95 ms | p99 ms | tx/block | block KiB | block interval ms | CPU ms/tx |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in rows:
            c = r["cell"]
            name = f"{c['timeout']} / {c['count']} / {c['preferred'] // 1024} KiB / {c['policy']} / {c['payload']} B"
            for s in r["steps"]:
                bb = spread(s, "block_bytes")
                lines.append(
                    f"| {name} | {s['offered_rate']:.0f} | {s['committed_tps']:.1f} | {s['failed']} | "
                    f"{s['latency']['p50_ms']:.1f} | {s['latency']['p95_ms']:.1f} | {s['latency']['p99_ms']:.1f} | "
                    f"{fmt(spread(s, 'transactions_per_block'))} | {fmt(bb / 1024 if bb else None)} | "
                    f"{fmt(spread(s, 'interval_ms'))} | {fmt(cpu_ms_per_tx(s), 2)} |")
        lines.append("")
        # The batch grid: heatmaps of peak throughput and of p95 at the lowest rate.
        grid = [r for r in rows if r["cell"]["policy"] == "MAJORITY" and r["cell"]["payload"] == 100
                and r["cell"]["preferred"] == 524288]
        timeouts = sorted({r["cell"]["timeout"] for r in grid}, key=ms_of)
        counts = sorted({r["cell"]["count"] for r in grid})
        if len(timeouts) > 1 and len(counts) > 1:
            def at(t, n):
                return next((r for r in grid if r["cell"]["timeout"] == t and r["cell"]["count"] == n), None)
            tps = [[peak(at(t, n)) if at(t, n) else None for n in counts] for t in timeouts]
            p95 = [[at(t, n)["steps"][0]["latency"]["p95_ms"] if at(t, n) else None for n in counts] for t in timeouts]
            (out / f"{backend}-peak-tps.svg").write_text(svgplot.heatmap(
                timeouts, counts, tps, f"{backend}: peak committed tx/s (MAJORITY, 100 B)",
                "BatchTimeout", "MaxMessageCount"))
            (out / f"{backend}-p95-low-load.svg").write_text(svgplot.heatmap(
                timeouts, counts, p95, f"{backend}: p95 ms at the lowest offered rate",
                "BatchTimeout", "MaxMessageCount", higher_is_better=False))
            best_tps = max(((tps[i][j], timeouts[i], counts[j]) for i in range(len(timeouts))
                            for j in range(len(counts)) if tps[i][j] is not None))
            best_p95 = min(((p95[i][j], timeouts[i], counts[j]) for i in range(len(timeouts))
                            for j in range(len(counts)) if p95[i][j] is not None))
            lines += [f"![{backend} peak tx/s]({backend}-peak-tps.svg) ![{backend} p95]({backend}-p95-low-load.svg)", "",
                      f"- Highest committed throughput in the batch grid: **{best_tps[0]:.0f} tx/s** at "
                      f"{best_tps[1]} / {best_tps[2]}.",
                      f"- Lowest p95 at the lowest offered rate: **{best_p95[0]:.0f} ms** at {best_p95[1]} / {best_p95[2]} "
                      "(at low load a block is cut by its timeout unless MaxMessageCount fills first).", ""]
        # Policies and payloads around the base cell: committed and p95 against offered rate.
        for title, key, variants, fname in (
            ("endorsement policy", "policy", ["ANY", "MAJORITY", "ALL", "MAJORITY+SBE", "EHR"], "policy"),
            ("payload", "payload", [100, 4096, 65536], "payload"),
        ):
            series_tps, series_p95 = [], []
            for v in variants:
                r = next((r for r in rows if is_base(r["cell"], **{key: v})), None)
                if not r:
                    continue
                series_tps.append((str(v), [(s["offered_rate"], s["committed_tps"]) for s in r["steps"]]))
                series_p95.append((str(v), [(s["offered_rate"], s["latency"]["p95_ms"]) for s in r["steps"]]))
            if len(series_tps) > 1:
                (out / f"{backend}-{fname}-tps.svg").write_text(svgplot.lines(
                    series_tps, f"{backend}: committed tx/s by {title} (250 ms / 100)", "offered tx/s",
                    "committed tx/s", logx=True))
                (out / f"{backend}-{fname}-p95.svg").write_text(svgplot.lines(
                    series_p95, f"{backend}: p95 ms by {title} (250 ms / 100)", "offered tx/s", "p95 ms", logx=True))
                lines += [f"![{backend} {title} tx/s]({backend}-{fname}-tps.svg) ![{backend} {title} p95]({backend}-{fname}-p95.svg)", ""]
                peaks = ", ".join(f"{lab}: {max(y for _, y in s):.0f}" for lab, s in series_tps)
                lines += [f"- Peak committed tx/s by {title}: {peaks}.", ""]
    for backend in cells:
        lines += tune_section(out, backend)
    (out / "report.md").write_text("\n".join(lines))
    print(f"wrote {out / 'report.md'}")


if __name__ == "__main__":
    main()
