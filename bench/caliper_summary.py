"""Owns: the summary of one Caliper run (`scripts/caliper.sh`, `make caliper`).

Caliper's own report gives min/avg/max latency only, and Caliper exits 0 when
transactions fail. This reads every transaction's create and final times that
caliper/observers/tx-latency.js wrote (DIR/tx/tx-w<worker>.jsonl), the
workloads' result checks (DIR/tx/checks-r<round>-w<worker>.json), the rounds
the benchmark asked for (DIR/rounds.json) and what the network reported
(DIR/network-status.json), and writes DIR/summary.json and DIR/summary.md:
per round succeeded, failed, unexpected answers, send rate, throughput and
p50/p95/p99 latency (nearest rank, bench/stats.py), with the backend read back
from the running network and the machine it ran on. It exits 1 if a round is
missing, sent nothing, had a failed transaction or an unexpected answer, or
if Caliper wrote no report.

Send rate and throughput follow Caliper's definitions: transactions sent over
the time from the first to the last creation; successful ones over the time
from the first creation to the last completion.

    python3 bench/caliper_summary.py --run DIR [--benchmark FILE] [--binary PATH]
"""

import argparse
import datetime
import glob
import json
import os
import platform
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stats import percentile  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def round_figures(label, txs, markers, checks):
    """One round's figures from its transactions (dicts with status, created, final)."""
    ok = [t for t in txs if t["status"] == "success"]
    failed = len(txs) - len(ok)
    fig = {
        "label": label,
        "ran": bool(markers),
        "workers": len(markers),
        "sent": len(txs),
        "succeeded": len(ok),
        "failed": failed,
        "checked": sum(c["checked"] for c in checks),
        "unexpected": sum(c["unexpected"] for c in checks),
        "unexpected_examples": [e for c in checks for e in c.get("examples", [])][:5],
        "request_types": sorted({t.get("type") or "unknown" for t in txs}),
    }
    if txs:
        first = min(t["created"] for t in txs)
        last_created = max(t["created"] for t in txs)
        last_final = max(t["final"] for t in txs)
        send_span = (last_created - first) / 1000
        fig["send_rate_tps"] = round(len(txs) / send_span, 1) if send_span > 0 else None
        span = (last_final - first) / 1000
        fig["throughput_tps"] = round(len(ok) / span, 1) if span > 0 else None
        fig["duration_s"] = round(span, 3)
    if ok:
        lat = [t["final"] - t["created"] for t in ok]
        fig.update(
            latency_ms={
                "p50": percentile(lat, 50),
                "p95": percentile(lat, 95),
                "p99": percentile(lat, 99),
                "min": min(lat),
                "max": max(lat),
                "avg": round(sum(lat) / len(lat), 1),
            }
        )
    return fig


def problems_of(fig):
    out = []
    if not fig["ran"]:
        out.append("the round did not run (no worker reported it)")
    elif fig["sent"] == 0:
        out.append("the round sent no transaction")
    if fig["failed"]:
        out.append(f"{fig['failed']} failed transaction(s)")
    if fig["unexpected"]:
        out.append(f"{fig['unexpected']} committed transaction(s) with an unexpected answer")
    return out


def summarize(run_dir, expected_labels):
    """Figures for every expected round, in the benchmark's order, plus the problems found."""
    txs, markers = [], []
    for path in sorted(glob.glob(os.path.join(run_dir, "tx", "tx-w*.jsonl"))):
        for line in read_jsonl(path):
            (markers if line.get("event") == "round" else txs).append(line)
    checks = []
    for path in sorted(glob.glob(os.path.join(run_dir, "tx", "checks-r*-w*.json"))):
        with open(path, encoding="utf-8") as f:
            checks.append(json.load(f))
    index_of = {m["label"]: m["round"] for m in markers}
    rounds, problems = [], []
    for label in expected_labels:
        idx = index_of.get(label)
        fig = round_figures(
            label,
            [t for t in txs if t["label"] == label],
            [m for m in markers if m["label"] == label],
            [c for c in checks if idx is not None and c["round"] == idx],
        )
        rounds.append(fig)
        problems += [f"round {label}: {p}" for p in problems_of(fig)]
    unknown = sorted({m["label"] for m in markers} - set(expected_labels))
    problems += [f"round {label} ran but the benchmark does not name it" for label in unknown]
    return rounds, problems


def machine():
    model = None
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            model = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), None)
    except OSError:
        pass
    return {
        "host": socket.gethostname(),
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "kernel": platform.release(),
        "loadavg_at_summary": [round(x, 2) for x in os.getloadavg()],
    }


def package_version(name):
    path = os.path.join(REPO, "caliper", "node_modules", *name.split("/"), "package.json")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)["version"]
    except (OSError, ValueError, KeyError):
        return None


def fmt(v, unit=""):
    return "-" if v is None else f"{v}{unit}"


def markdown(s):
    net = s["network"]
    m = s["machine"]
    lines = [
        f"# Caliper run {s['run']}",
        "",
        f"Backend **{net['backend']}** (read back from `healthblock network status --json`: "
        f"{net['peers']} peers, {net['orderers']} orderer(s), channel {net['channel']}); "
        f"Caliper {s['caliper']['caliper_cli']} with the Peer Gateway connector "
        f"(@hyperledger/fabric-gateway {s['caliper']['fabric_gateway']}); benchmark `{s['benchmark']}`; "
        f"our binaries: {s['binary_profile']} build.",
        f"Machine: `{m['host']}`, {m['cpus']} CPUs ({m['cpu_model']}), Linux {m['kernel']}, "
        f"1/5/15-minute load {m['loadavg_at_summary']} when summarised; Caliper shares these CPUs with the network.",
        f"Summarised {s['summarised_at']}. Latency is per transaction, create to final (for a submit: endorsed, "
        "ordered and committed); percentiles are nearest-rank over the successful ones.",
        "",
        "| round | sent | succeeded | failed | unexpected | send rate (tx/s) | throughput (tx/s) | p50 ms | p95 ms | p99 ms | max ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in s["rounds"]:
        lat = r.get("latency_ms", {})
        lines.append(
            f"| {r['label']} | {r['sent']} | {r['succeeded']} | {r['failed']} | {r['unexpected']} | "
            f"{fmt(r.get('send_rate_tps'))} | {fmt(r.get('throughput_tps'))} | {fmt(lat.get('p50'))} | "
            f"{fmt(lat.get('p95'))} | {fmt(lat.get('p99'))} | {fmt(lat.get('max'))} |"
        )
    lines.append("")
    if s["problems"]:
        lines.append("**FAILED:**")
        lines += [f"- {p}" for p in s["problems"]]
    else:
        lines.append("Every round ran; no transaction failed; every checked answer was the expected one.")
    lines.append("")
    lines.append(f"Caliper's own report: `{os.path.basename(s['report'])}`.")
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", required=True, help="the run directory scripts/caliper.sh wrote")
    ap.add_argument("--benchmark", default="", help="the benchmark configuration that ran")
    ap.add_argument("--binary", default="", help="the healthblock binary (its build profile is reported)")
    a = ap.parse_args(argv)
    run = os.path.abspath(a.run)
    with open(os.path.join(run, "rounds.json"), encoding="utf-8") as f:
        expected = json.load(f)
    with open(os.path.join(run, "network-status.json"), encoding="utf-8") as f:
        status = json.load(f)
    rounds, problems = summarize(run, expected)
    report = os.path.join(run, "report.html")
    if not os.path.isfile(report):
        problems.append("Caliper wrote no report.html")
    nodes = status.get("nodes", [])
    profile = os.path.basename(os.path.dirname(a.binary)) if a.binary else None
    summary = {
        "run": os.path.basename(run),
        "summarised_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "benchmark": os.path.relpath(a.benchmark, REPO) if a.benchmark else None,
        "binary_profile": profile,
        "network": {
            "backend": status.get("backend"),
            "channel": status.get("channel"),
            "peers": sum(1 for n in nodes if n.get("kind") == "peer"),
            "orderers": sum(1 for n in nodes if n.get("kind") == "orderer"),
        },
        "caliper": {
            "caliper_cli": package_version("@hyperledger/caliper-cli"),
            "fabric_gateway": package_version("@hyperledger/fabric-gateway"),
        },
        "machine": machine(),
        "report": os.path.basename(report),
        "rounds": rounds,
        "problems": problems,
        "ok": not problems,
    }
    with open(os.path.join(run, "summary.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")
    md = markdown(summary)
    with open(os.path.join(run, "summary.md"), "w", encoding="utf-8") as f:
        f.write(md)
    print(md, end="")
    for p in problems:
        print(f"error: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
