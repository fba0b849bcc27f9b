#!/usr/bin/env python3
"""Builds results/wbcb/report.md and SVG plots from Criterion's estimates,
openssl speed output and /usr/bin/time -v logs. Standard library only."""

import json
import re
import sys
from pathlib import Path

SIZES = ["1KiB", "64KiB", "1MiB", "16MiB", "256MiB"]
SIZE_BYTES = {"1KiB": 1 << 10, "64KiB": 64 << 10, "1MiB": 1 << 20, "16MiB": 16 << 20, "256MiB": 256 << 20}
SCHEMES = ["wbcb-aes-256-gcm", "wbcb-chacha20-poly1305", "aes-256-cbc-hmac-sha256", "rsa-3072-oaep-hybrid"]
COLOURS = ["#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#ff7f0e", "#8c564b"]
MIB = 1024 * 1024


def mean_ns(criterion: Path, group: str, scheme: str, param: str):
    path = criterion / group / scheme / param / "new" / "estimates.json"
    if not path.exists():
        return None
    return json.loads(path.read_text())["mean"]["point_estimate"]


def openssl_16k(out: Path):
    """Bytes/s of openssl speed -evp aes-256-gcm at 16384-byte blocks."""
    path = out / "openssl-speed.txt"
    if not path.exists():
        return None
    for line in path.read_text().splitlines():
        if line.lower().startswith("aes-256-gcm"):
            vals = re.findall(r"([\d.]+)k", line)
            if vals:
                return float(vals[-1]) * 1000
    return None


def peak_rss_kib(path: Path):
    if not path.exists():
        return None
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", path.read_text())
    return int(m.group(1)) if m else None


def fmt_time(ns):
    if ns is None:
        return "–"
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.0f} ns"


def fmt_tput(size, ns):
    return "–" if ns is None else f"{size / (ns / 1e9) / MIB:.1f}"


def svg_lines(title, series, x_labels, y_label, path: Path, log_y=True, where=""):
    """A small line chart: series = [(name, [value or None per x])]; `where`
    (machine and date) is printed under the title."""
    import math
    from xml.sax.saxutils import escape

    w, h, left, right, top, bottom = 760, 440, 80, 230, 60, 50
    values = [v for _, vs in series for v in vs if v]
    if not values:
        return
    lo, hi = min(values), max(values)
    if log_y:
        lo, hi = math.log10(lo) - 0.1, math.log10(hi) + 0.1
    else:
        lo, hi = 0, hi * 1.1
    pw, ph = w - left - right, h - top - bottom

    def x(i):
        return left + pw * (i / max(1, len(x_labels) - 1))

    def y(v):
        t = math.log10(v) if log_y else v
        return top + ph * (1 - (t - lo) / (hi - lo or 1))

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
             '<rect width="100%" height="100%" fill="white"/>',
             f'<text x="{w / 2}" y="22" text-anchor="middle" font-size="15">{title}</text>',
             f'<text x="{w / 2}" y="42" text-anchor="middle" font-size="11" fill="#555">{escape(where)}</text>',
             f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" stroke="black"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + ph}" stroke="black"/>',
             f'<text x="18" y="{top + ph / 2}" transform="rotate(-90 18 {top + ph / 2})" text-anchor="middle">{y_label}</text>']
    for i, lab in enumerate(x_labels):
        parts.append(f'<text x="{x(i)}" y="{top + ph + 20}" text-anchor="middle">{lab}</text>')
    ticks = range(math.floor(lo), math.ceil(hi) + 1) if log_y else [lo + (hi - lo) * k / 5 for k in range(6)]
    for t in ticks:
        v = 10 ** t if log_y else t
        if not (lo <= (t if log_y else v) <= hi):
            continue
        yy = y(v)
        parts.append(f'<line x1="{left}" y1="{yy}" x2="{left + pw}" y2="{yy}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 6}" y="{yy + 4}" text-anchor="end">{v:.3g}</text>')
    for k, (name, vs) in enumerate(series):
        colour = COLOURS[k % len(COLOURS)]
        pts = [(x(i), y(v)) for i, v in enumerate(vs) if v]
        if len(pts) > 1:
            parts.append('<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>'.format(
                colour, " ".join(f"{a:.1f},{b:.1f}" for a, b in pts)))
        for a, b in pts:
            parts.append(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="3" fill="{colour}"/>')
        ly = top + 10 + 20 * k
        parts.append(f'<rect x="{left + pw + 15}" y="{ly - 9}" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{left + pw + 32}" y="{ly + 1}">{name}</text>')
    parts.append("</svg>")
    path.write_text("\n".join(parts))


def main():
    criterion, out = Path(sys.argv[1]), Path(sys.argv[2])
    lines = ["# WBCB benchmark report", ""]
    facts = {}
    cpu_lines = (out / "cpu.txt").read_text().strip().splitlines() if (out / "cpu.txt").exists() else []
    for line in cpu_lines[1:]:
        key, _, value = line.partition(":")
        facts[key.strip()] = value.strip()
    model = cpu_lines[0] if cpu_lines else "unknown CPU"
    where = (f"measured on {model} (AES-NI: {facts.get('AES-NI', '?')}), nproc {facts.get('nproc', '?')}, "
             f"{facts.get('date', 'date unknown')}")
    import os
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    lines += [f"Machine: {where}; load average at report time {load} "
              "(a shared machine: a load above the CPU count inflates every time below).",
              "Release profile, Criterion mean per operation. A filtered run (WBCB_BENCH_FILTER) refreshes",
              "only the matching rows; the others come from the previous full run.", "",
              "WBCB rows include a fresh data key and one HPKE wrap (decrypt: one unwrap); the RSA hybrid includes",
              "one RSA-3072-OAEP wrap/unwrap and one-shot AES-256-GCM; AES-CBC+HMAC is symmetric only (pre-shared keys).",
              "Every scheme allocates its output once per operation at its final size and reuses nothing across",
              "iterations (client/wbcb/benches/wbcb.rs); only the `aead-only` reference rows seal one hot buffer in place.", ""]
    for group in ("encrypt", "decrypt"):
        lines += [f"## {group.capitalize()}: time (throughput MiB/s)", "",
                  "| scheme | " + " | ".join(SIZES) + " |", "|---|" + "---|" * len(SIZES)]
        series = []
        for scheme in SCHEMES:
            cells, tputs = [], []
            for size in SIZES:
                ns = mean_ns(criterion, group, scheme, size)
                cells.append(f"{fmt_time(ns)} ({fmt_tput(SIZE_BYTES[size], ns)})")
                tputs.append(SIZE_BYTES[size] / (ns / 1e9) / MIB if ns else None)
            lines.append(f"| {scheme} | " + " | ".join(cells) + " |")
            series.append((scheme, tputs))
        lines.append("")
        svg_lines(f"{group} throughput", series, SIZES, "MiB/s (log)", out / f"{group}-throughput.svg", where=where)
        lines += [f"![{group} throughput]({group}-throughput.svg)", "", f"_{where}_", ""]

    lines += ["## Key wrap (total for N recipients)", "", "| operation | 1 | 10 | 100 |", "|---|---|---|---|"]
    wrap_series = []
    for op in ("hpke-wrap", "hpke-unwrap", "rsa-oaep-wrap", "rsa-oaep-unwrap"):
        vals = [mean_ns(criterion, "keywrap", op, str(n)) for n in (1, 10, 100)]
        lines.append(f"| {op} | " + " | ".join(fmt_time(v) for v in vals) + " |")
        wrap_series.append((op, [v / 1e6 if v else None for v in vals]))
    svg_lines("key wrap time vs recipients", wrap_series, ["1", "10", "100"], "ms (log)", out / "keywrap.svg",
              where=where)
    lines += ["", "![key wrap](keywrap.svg)", "", f"_{where}_", ""]

    lines += ["## Targets", "", "| target | measured | goal | met |", "|---|---|---|---|"]
    ssl = openssl_16k(out)
    gcm16 = mean_ns(criterion, "encrypt", "wbcb-aes-256-gcm", "16MiB")
    if ssl and gcm16:
        ours = SIZE_BYTES["16MiB"] / (gcm16 / 1e9)
        ratio = ours / ssl
        lines.append(f"| WBCB AES-256-GCM encrypt @16 MiB vs `openssl speed -evp aes-256-gcm` (16 KiB blocks) | "
                     f"{ours / MIB:.0f} MiB/s vs {ssl / MIB:.0f} MiB/s = {ratio:.0%} | >= 80% | {'yes' if ratio >= 0.8 else 'no'} |")
    else:
        lines.append("| AES-256-GCM @16 MiB vs openssl | not measured | >= 80% | – |")
    for scheme in ("wbcb-aes-256-gcm", "wbcb-chacha20-poly1305"):
        enc = mean_ns(criterion, "encrypt", scheme, "16MiB")
        dec = mean_ns(criterion, "decrypt", scheme, "16MiB")
        if enc and dec:
            ratio = enc / dec  # throughput ratio decrypt / encrypt
            lines.append(f"| {scheme} decrypt vs encrypt throughput @16 MiB (same run) | "
                         f"{fmt_tput(SIZE_BYTES['16MiB'], dec)} vs {fmt_tput(SIZE_BYTES['16MiB'], enc)} MiB/s "
                         f"= {ratio:.2f} | >= 0.95 | {'yes' if ratio >= 0.95 else 'no'} |")
        else:
            lines.append(f"| {scheme} decrypt vs encrypt @16 MiB | not measured | >= 0.95 | – |")
    for lib in ("ring-aes-256-gcm", "rustcrypto-aes-256-gcm"):
        ns = mean_ns(criterion, "aead-only", lib, "16KiB")
        if ssl and ns:
            rate = 16384 / (ns / 1e9)
            lines.append(f"| reference: {lib} alone, one hot 16 KiB block in place (openssl's method) | "
                         f"{rate / MIB:.0f} MiB/s = {rate / ssl:.0%} of openssl | – | – |")
    for op in ("hpke-wrap", "hpke-unwrap"):
        ns = mean_ns(criterion, "keywrap", op, "1")
        met = "–" if ns is None else ("yes" if ns <= 0.5e6 else "no")
        lines.append(f"| {op}, one recipient | {fmt_time(ns)} | <= 0.5 ms | {met} |")
    gib = (out / "rss-size-gib.txt").read_text().strip() if (out / "rss-size-gib.txt").exists() else "1"
    for what in ("encrypt", "decrypt"):
        kib = peak_rss_kib(out / f"rss-{what}.txt")
        met = "–" if kib is None else ("yes" if kib <= 64 * 1024 else "no")
        shown = "not measured" if kib is None else f"{kib / 1024:.1f} MiB"
        lines.append(f"| peak RSS, CLI {what} of a {gib} GiB file | {shown} | <= 64 MiB | {met} |")
    if (out / "openssl-speed.txt").exists():
        lines += ["", "### openssl speed", "", "```", (out / "openssl-speed.txt").read_text().strip(), "```"]
    (out / "report.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
