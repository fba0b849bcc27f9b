#!/usr/bin/env python3
"""The EHR benchmark (`make bench-ehr`): clinical CLI latencies on a fresh network.

A fresh three-hospital network of the backend asked for (HEALTHBLOCK_BACKEND,
devnet by default; the backend that actually ran is read back from
`healthblock network status --json` and the run stops if it differs), own HEALTHBLOCK_HOME, ports shifted by
BENCH_EHR_PORT_OFFSET, BatchTimeout 250 ms / MaxMessageCount 100, MAJORITY
endorsement) with the `ehr` chaincode deployed as `make demo` does. Every
timing is the wall time of one `healthblock` process, end to end (start,
connect, encrypt/decrypt, store, endorse, order, commit), exactly as a user
runs it. Measured:

- `record put` of a 1 MiB file, N runs (p50/p95);
- `access request --out` (audited request, key release by the home
  hospital's custodian, fetch, verify, decrypt) of a 1 MiB record, N runs;
- the custodian's own time per release in that series (from the parsed
  request to its answer: ledger lookup on its peer, checks, redemption,
  unwrap and re-seal), read back from its log (`elapsed_us`);
- `record list --patient` for one patient among 100,000 records of 1,000
  patients on the ledger, N runs; the records are loaded first by
  `healthblock record bench-load` (synthetic metadata, real blind-index
  tokens, no blobs);
- peak RSS of `record put` of a 1 GiB file (/usr/bin/time -v);
- one timing of every other clinical command.

Writes results/ehr/results.json and results/ehr/report.md (results/ehr-<backend>/
for another backend). A benchmark, not a test: it asserts nothing about the
numbers, but stops if a command fails. Every number the report prints comes
from results.json. `--report-only` rewrites report.md from an existing results.json.
"""

import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
from stats import summarize  # noqa: E402  (the one shared percentile definition)

HB = Path(os.environ.get("HB", ROOT / "target/debug/healthblock"))
OFFSET = os.environ.get("BENCH_EHR_PORT_OFFSET", "27500")
RUNS = int(os.environ.get("BENCH_EHR_RUNS", "25"))
WARMUP = 2
LOAD_RECORDS = int(os.environ.get("BENCH_EHR_RECORDS", "100000"))
LOAD_PATIENTS = int(os.environ.get("BENCH_EHR_PATIENTS", "1000"))
BIG_MIB = int(os.environ.get("BENCH_EHR_BIG_MIB", "1024"))
LOAD_CONCURRENCY = 256
# The backend asked for (HEALTHBLOCK_BACKEND, as for the CLI) and where results go.
BACKEND = os.environ.get("HEALTHBLOCK_BACKEND") or "devnet"
if BACKEND not in ("devnet", "fabric"):
    raise SystemExit(f"HEALTHBLOCK_BACKEND={BACKEND!r}: expected devnet or fabric")
OUT = Path(os.environ.get("BENCH_EHR_OUT", ROOT / ("results/ehr" if BACKEND == "devnet" else f"results/ehr-{BACKEND}")))

# The listing measurement is named after the records actually loaded.
LIST_MEASUREMENT = f"record list (1 patient, {LOAD_RECORDS:,} records on ledger)"

CUSTODIAN_RELEASE = "key custodian release (server side, during the access series)"

TARGETS = {
    "record put 1 MiB": ("p95", 300.0),
    "access request + decrypt 1 MiB": ("p95", 300.0),
    CUSTODIAN_RELEASE: ("p95", 20.0),
    LIST_MEASUREMENT: ("p95", 50.0),
}


def log(msg):
    print(f"==> {msg}", file=sys.stderr, flush=True)


class Bench:
    """The network under test and the timings taken on it."""

    def __init__(self, home, config):
        self.env = dict(os.environ)
        # Every command names the backend asked for; `network status` says which runs.
        self.env.update(
            HEALTHBLOCK_HOME=str(home),
            HEALTHBLOCK_PORT_OFFSET=OFFSET,
            HEALTHBLOCK_BACKEND=BACKEND,
        )
        # Only `network up` reads the description; later commands use the
        # running network's copy (with its port offset).
        self.config = config
        self.env.pop("HEALTHBLOCK_CONFIG", None)
        self.singles = []
        self.series = {}

    def run(self, args, check=True, stdin=None):
        """Runs the CLI; returns (seconds, completed process)."""
        t0 = time.perf_counter()
        p = subprocess.run(
            [str(HB), *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            stdin=stdin,
        )
        dt = time.perf_counter() - t0
        if check and p.returncode != 0:
            raise SystemExit(f"`healthblock {' '.join(args)}` failed:\n{p.stdout}\n{p.stderr}")
        return dt, p

    def once(self, label, args, check=True, commits=True):
        """Times one run of a command and records it (`commits`: it submits a transaction)."""
        dt, p = self.run(args, check=check)
        self.singles.append(
            {"command": label, "ms": round(dt * 1000, 1), "ok": p.returncode == 0,
             "commits": commits, "cli": cli(args)}
        )
        log(f"{label}: {dt * 1000:.1f} ms")
        return p

    def repeat(self, label, make_args, runs=RUNS):
        """Times `runs` runs (after WARMUP unrecorded ones) of make_args(i)."""
        for i in range(WARMUP):
            self.run(make_args(-1 - i))
        times = []
        for i in range(runs):
            dt, _ = self.run(make_args(i))
            times.append(dt * 1000)
        self.series[label] = summarize(times, warmup=WARMUP, cli=cli(make_args(0)))
        s = self.series[label]
        log(f"{label}: p50 {s['p50_ms']} ms, p95 {s['p95_ms']} ms over {runs} runs")


def fmt_load(avg):
    """The 1-minute load average of os.getloadavg()."""
    return "n/a" if not avg else f"{avg[0]:.1f}"


def cli(args):
    return "healthblock " + " ".join(a if re.fullmatch(r"[\w@./:=,+-]+", a) else repr(a) for a in args)


def enroll(b, org, name, role, pseudonym=None):
    secret = f"pw-{name}"
    args = ["user", "register", "--org", org, "--name", name, "--role", role, "--secret", secret]
    if pseudonym:
        args += ["--pseudonym", pseudonym]
    b.run(args)
    b.run(["user", "enroll", "--org", org, "--name", name, "--secret", secret])
    # Every user publishes their own encryption key: wraps are sealed only to published keys.
    b.run(["keydir", "publish", "--as", f"{name}@{org}"])
    return f"{name}@{org}"


def peak_rss_kib(b, args):
    """Runs a command under /usr/bin/time -v; returns (seconds, max RSS KiB)."""
    t0 = time.perf_counter()
    p = subprocess.run(
        ["/usr/bin/time", "-v", str(HB), *args], env=b.env, cwd=ROOT, capture_output=True, text=True
    )
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"1 GiB put failed:\n{p.stderr[-2000:]}")
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
    if not m:
        raise SystemExit("/usr/bin/time printed no maximum resident set size")
    return dt, int(m.group(1))


def main():
    if sys.argv[1:] == ["--report-only"]:
        results = json.loads((OUT / "results.json").read_text())
        (OUT / "report.md").write_text(report(results))
        return
    if not HB.exists():
        raise SystemExit(f"{HB} is missing: build with `cargo build -p healthblock-cli -p healthblock-chaincode --bins`")
    work = Path(tempfile.mkdtemp(prefix="hb-bench-ehr-"))
    home = work / "home"
    config = work / "consortium.yaml"
    text = (ROOT / "network/consortium.yaml").read_text()
    text = re.sub(r"(?m)^  timeout: .*$", "  timeout: 250ms", text)
    text = re.sub(r"(?m)^  max_message_count: .*$", "  max_message_count: 100", text)
    # The copy asks for the same backend as HEALTHBLOCK_BACKEND (never forces one).
    text = re.sub(r"(?m)^backend: .*$", f"backend: {BACKEND}", text)
    config.write_text(text)
    b = Bench(home, config)
    results = {
        "asked_backend": BACKEND,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "loadavg_start": os.getloadavg(),
    }
    try:
        measure(b, work, results)
        results["loadavg_end"] = os.getloadavg()
        results["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    finally:
        b.run(["network", "down", "--purge"], check=False)
        shutil.rmtree(work, ignore_errors=True)
    write(results, b)


def running_network(b, home):
    """What runs, read back from the network: `network status --json` and the
    description `network up` recorded. Stops unless it is the backend asked for."""
    _, p = b.run(["network", "status", "--json"], check=False)
    try:
        status = json.loads(p.stdout)
    except json.JSONDecodeError:
        raise SystemExit(f"`healthblock network status --json` printed no JSON:\n{p.stdout}\n{p.stderr}")
    running = status.get("backend")
    if running != BACKEND:
        raise SystemExit(
            f"asked for the {BACKEND} backend, but `network status` reports {running!r} running "
            f"under {home}:\n{p.stderr.strip()}"
        )
    if p.returncode != 0:
        raise SystemExit(f"`healthblock network status` failed on the fresh network:\n{p.stderr}")
    nodes = status.get("nodes", [])
    recorded = (home / "consortium.yaml").read_text()
    def setting(pattern):
        m = re.search(pattern, recorded, re.M)
        return m.group(1).strip() if m else None
    info = {
        "backend": running,
        "orderers": sum(1 for n in nodes if n.get("kind") == "orderer"),
        "peers": sum(1 for n in nodes if n.get("kind") == "peer"),
        "batch_timeout": setting(r"^  timeout: (.*)$"),
        "max_message_count": setting(r"^  max_message_count: (.*)$"),
        "endorsement": setting(r"^  endorsement: (.*)$"),
    }
    if running == "fabric":
        peer = Path(os.environ.get("FABRIC_BIN", "")) / "peer"
        v = subprocess.run([str(peer), "version"], capture_output=True, text=True)
        m = re.search(r"Version: (\S+)", v.stdout)
        info["fabric_version"] = m.group(1) if m else None
        m = re.search(r"Commit SHA: (.+)", v.stdout)
        info["fabric_commit"] = m.group(1).strip() if m else None
    return info


def releases(log_path):
    """The custodian's own time (ms) of every release its log records, in order."""
    if not log_path.exists():
        return []
    times = []
    for line in log_path.read_text().splitlines():
        if " released" in line:
            m = re.search(r"elapsed_us=(\d+)", line)
            if m:
                times.append(int(m.group(1)) / 1000.0)
    return times


def measure(b, work, results):
    home = Path(b.env["HEALTHBLOCK_HOME"])
    log(f"fresh {BACKEND} network: HEALTHBLOCK_HOME={home} port offset {OFFSET}, batch 250ms/100")
    dt, p = b.run(["--config", str(b.config), "network", "up", "--json"])
    results["network_up_ms"] = round(dt * 1000, 1)
    net = running_network(b, home)
    results["backend"] = net["backend"]
    results["network"] = net
    log(f"running: {net}")
    ehrcc = HB.parent / "healthblock-ehrcc"
    b.run(["chaincode", "deploy", "--name", "ehr", "--policy", "every-org", "--binary", str(ehrcc)])
    for h in ("Hospital1", "Hospital2", "Hospital3"):
        b.run(["keydir", "publish", "--as", f"Admin@{h}", "--hospital"])
    doc1 = enroll(b, "Hospital1", "doc1", "doctor")
    doc2 = enroll(b, "Hospital2", "doc2", "doctor")
    doc3 = enroll(b, "Hospital3", "doc3", "doctor")
    nurse3 = enroll(b, "Hospital3", "nurse3", "nurse")
    aud = enroll(b, "Hospital1", "aud", "auditor")

    p = b.once("patient register", ["patient", "register", "--as", doc1, "--name", "Bench Patient"])
    pid = p.stdout.strip()
    enroll(b, "Hospital1", "pat", "patient", pid)
    b.once("patient show", ["patient", "show", "--as", doc1, "--patient", pid], commits=False)

    one_mib = work / "one.bin"
    one_mib.write_bytes(os.urandom(1 << 20))
    rids = [f"put-{i}" for i in range(RUNS)]
    b.repeat(
        "record put 1 MiB",
        lambda i: ["record", "put", "--as", doc1, "--patient", pid, "--type", "Observation",
                   "--record-id", rids[i] if i >= 0 else f"warm{-i}", str(one_mib)],
    )
    out = work / "plain.out"
    custodian_log = home / "logs" / "custodian-Hospital1.log"
    before = len(releases(custodian_log))
    b.repeat(
        "access request + decrypt 1 MiB",
        lambda i: ["access", "request", "--as", doc1, "--record", rids[max(i, 0)], "--out", str(out)],
    )
    released = releases(custodian_log)[before:]
    if len(released) != RUNS + WARMUP:
        raise SystemExit(f"{custodian_log}: {len(released)} releases logged, want {RUNS + WARMUP}")
    b.series[CUSTODIAN_RELEASE] = summarize(
        released[WARMUP:], warmup=WARMUP, cli=f"elapsed_us of each released line in {custodian_log.name}"
    )
    if out.read_bytes() != one_mib.read_bytes():
        raise SystemExit("the decrypted record differs from the original")

    b.once("record get 1 MiB", ["record", "get", "--as", doc1, "--record", rids[0], "--out", str(out)])
    b.once("record history", ["record", "history", "--as", doc1, "--record", rids[0]], commits=False)
    # Blocks are for peers and admins (channel ACLs): verify is run by the hospital's IT.
    b.once("record verify 1 MiB (as Admin@Hospital1)",
           ["record", "verify", "--as", "Admin@Hospital1", "--record", rids[0]], commits=False)
    b.once("consent grant (Hospital2, all records)",
           ["consent", "grant", "--as", "pat@Hospital1", "--patient", pid, "--to-org", "Hospital2"])
    b.once("consent list", ["consent", "list", "--as", doc1, "--patient", pid], commits=False)
    b.once("record get as grantee (Hospital2) 1 MiB",
           ["record", "get", "--as", doc2, "--record", rids[1], "--out", str(out)])
    b.once("consent revoke (Hospital2)",
           ["consent", "revoke", "--as", "pat@Hospital1", "--patient", pid, "--to-org", "Hospital2"])
    b.once("access request denied (nurse, audited)",
           ["access", "request", "--as", nurse3, "--record", rids[0]], check=False)
    p = b.once("breakglass (open)",
               ["breakglass", "--as", doc3, "--patient", pid, "--code", "UNCONSCIOUS",
                "--reason", "unconscious in the ER, no ID on the patient"])
    bg = p.stdout.strip()
    b.once("breakglass --list", ["breakglass", "--list", "--as", doc1, "--patient", pid], commits=False)
    b.once("access request + decrypt under break-glass 1 MiB",
           ["access", "request", "--as", doc3, "--record", rids[0], "--out", str(out)])
    b.once("breakglass review", ["breakglass", "review", "--as", aud, "--patient", pid, "--id", bg,
                                 "--note", "justified"])
    b.once("audit --patient", ["audit", "--as", aud, "--patient", pid], commits=False)
    b.once("audit --record", ["audit", "--as", aud, "--record", rids[0]], commits=False)
    b.once("record list --patient (before the load)", ["record", "list", "--as", doc1, "--patient", pid],
           commits=False)
    b.once("record list --type Observation (before the load)",
           ["record", "list", "--as", doc1, "--type", "Observation"], commits=False)

    log(f"loading {LOAD_RECORDS} records of {LOAD_PATIENTS} patients (record bench-load)")
    load_args = ["record", "bench-load", "--as", doc1, "--records", str(LOAD_RECORDS),
                 "--patients", str(LOAD_PATIENTS), "--concurrency", str(LOAD_CONCURRENCY)]
    t0 = time.perf_counter()
    p = subprocess.run([str(HB), *load_args], env=b.env, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise SystemExit(f"bench-load failed:\n{p.stdout}")
    load = json.loads(p.stdout)
    load["wall_s"] = round(time.perf_counter() - t0, 1)
    load["cli"] = cli(load_args)
    load["concurrency"] = LOAD_CONCURRENCY
    results["load"] = load
    sample = load["sample_patient"]["pseudonym"]
    b.repeat(
        LIST_MEASUREMENT,
        lambda i: ["record", "list", "--as", doc1, "--patient", sample],
    )
    b.once("record list --patient (bench patient, after load)", ["record", "list", "--as", doc1, "--patient", pid],
           commits=False)

    big = work / "big.bin"
    log(f"writing a {BIG_MIB} MiB file")
    with open(big, "wb") as f:
        chunk = os.urandom(1 << 20)
        for _ in range(BIG_MIB):
            f.write(chunk)
    big_args = ["record", "put", "--as", doc1, "--patient", pid, "--type", "ImagingStudy", str(big)]
    dt, rss = peak_rss_kib(b, big_args)
    results["big_put"] = {
        "mib": BIG_MIB,
        "seconds": round(dt, 1),
        "peak_rss_mib": round(rss / 1024, 1),
        "cli": "/usr/bin/time -v " + cli(big_args),
    }
    log(f"{BIG_MIB} MiB put: {dt:.1f} s, peak RSS {rss / 1024:.1f} MiB")
    big.unlink()


def write(results, b):
    OUT.mkdir(parents=True, exist_ok=True)
    results["series"] = b.series
    results["singles"] = b.singles
    results["environment"] = {
        "binary": str(HB.relative_to(ROOT)) if HB.is_relative_to(ROOT) else str(HB),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "kernel": platform.release(),
        "host": socket.gethostname(),
        "port_offset": OFFSET,
    }
    (OUT / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (OUT / "report.md").write_text(report(results))
    log(f"report: {OUT / 'report.md'}")


def report(r):
    """report.md, every number and path taken from the results `r`."""
    env = r["environment"]
    # Results written before the backend was read back lack these: say so, guess nothing.
    net = r.get("network") or {}
    backend = r.get("backend", "not recorded")
    out = OUT.relative_to(ROOT) if OUT.is_relative_to(ROOT) else OUT
    # As `peer version` reported it (a source build says `latest`).
    version = f", `peer version`: {net['fabric_version']}" if net.get("fabric_version") else ""
    warmup = next((s.get("warmup") for s in r["series"].values()), None)
    lines = [
        f"# EHR benchmark ({backend})",
        "",
        f"Run {r['started']} to {r.get('finished', '?')} on host `{env.get('host', '?')}` by `python3 bench/ehr/run.py`",
        f"with `{env['binary']}`, on {env['cpus']} CPUs ({env['machine']}, Linux {env['kernel']}).",
        f"Backend: **{backend}{version}**, as `healthblock network status --json` reported it after `network up`",
        f"(asked for: {r.get('asked_backend', 'not recorded')}): {net.get('orderers', '?')} orderer(s), "
        f"{net.get('peers', '?')} peers,",
        f"ports + {env['port_offset']}, BatchTimeout {net.get('batch_timeout', '?')}, "
        f"MaxMessageCount {net.get('max_message_count', '?')},",
        f"endorsement `{net.get('endorsement', '?')}` (read from the description the network was started with); the `ehr`",
        "chaincode deployed as `make demo` does, the filesystem object store under `$HEALTHBLOCK_HOME/store`.",
        "Every time is the wall time of one `healthblock` process, start to exit, as a user runs it.",
        f"Repeated commands: {warmup} unrecorded warm-up runs first; p50 and p95 are nearest-rank",
        "percentiles (bench/stats.py).",
        "The CPUs are shared with other jobs (1-minute load average "
        f"{fmt_load(r.get('loadavg_start'))} at the start, {fmt_load(r.get('loadavg_end'))} at the end).",
    ]
    committing = [s["ms"] for s in r["singles"] if s.get("commits") and s["ok"]]
    reading = [s["ms"] for s in r["singles"] if s.get("commits") is False and s["ok"]]
    if committing and reading:
        lines += [
            f"In the single runs below, commands that commit took {min(committing)}-{max(committing)} ms and",
            f"read-only ones {min(reading)}-{max(reading)} ms; a lone transaction waits up to the",
            f"{net.get('batch_timeout', '?')} BatchTimeout before its block is cut.",
        ]
    lines += [
        "",
        "## Targets",
        "",
        "| measurement | runs | p50 ms | p95 ms | target | met | command |",
        "|---|---:|---:|---:|---|---|---|",
    ]
    for label, (stat, limit) in TARGETS.items():
        s = r["series"].get(label)
        if not s:
            continue
        value = s[f"{stat}_ms"]
        lines.append(
            f"| {label} | {s['runs']} | {s['p50_ms']} | {s['p95_ms']} | {stat} <= {limit:.0f} ms | "
            f"{'yes' if value <= limit else '**no**'} | `{s['cli']}` |"
        )
    big = r.get("big_put")
    if big:
        met = "yes" if big["peak_rss_mib"] <= 64 else "**no**"
        lines += [
            "",
            "| measurement | value | target | met | command |",
            "|---|---:|---|---|---|",
            f"| record put of a {big['mib']} MiB file: peak RSS (maximum resident set size) | "
            f"{big['peak_rss_mib']} MiB | <= 64 MiB | {met} | `{big['cli']}` |",
            f"| record put of a {big['mib']} MiB file: wall time | {big['seconds']} s | - | - | (same run) |",
        ]
    load = r.get("load")
    if load:
        lines += [
            "",
            "## Ledger load for `record list`",
            "",
            f"`{load['cli']}`: {load['committed']} of {load['records']} `put_record` transactions committed",
            f"({load['failed']} failed) for {load['patients']} patients in {load['seconds']:.1f} s, registering",
            f"the patients included ({load['committed_per_second']:.0f} records/s, {load.get('concurrency', '?')}"
            " transactions in flight, each waiting for its commit).",
            "The loaded records carry **synthetic metadata** (hash of the record id, a `synthetic:` pointer,",
            "no blob, no wraps) and real blind-index tokens, so `record list --patient` resolves them exactly",
            f"like real records. The listed patient (`{load['sample_patient']['name']}`) has",
            f"{load['sample_patient']['records']} records among them; the listing is a range read over that",
            "patient's blind-index token prefix (composite keys), never a scan.",
        ]
    lines += [
        "",
        "## Every clinical command (one run each)",
        "",
        "| command | ms | exit | command line |",
        "|---|---:|---|---|",
    ]
    for s in r["singles"]:
        lines.append(f"| {s['command']} | {s['ms']} | {'0' if s['ok'] else 'non-zero (expected)'} | `{s['cli']}` |")
    lines += [
        "",
        "## Distributions",
        "",
        "| measurement | min | p50 | p95 | max |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, s in r["series"].items():
        lines.append(f"| {label} | {s['min_ms']} | {s['p50_ms']} | {s['p95_ms']} | {s['max_ms']} |")
    lines += [
        "",
        "`consent grant` and `consent revoke` commit one transaction each (no key is wrapped for a",
        "grantee); every read (`access request`, `record get`) commits its audited request and then",
        "asks the home hospital's key custodian for the key.",
        "",
        f"`network up` took {r.get('network_up_ms')} ms. Raw numbers: `{out}/results.json`.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
