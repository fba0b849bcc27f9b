#!/usr/bin/env python3
"""The ordering-service study (`make study`): batch timeout x MaxMessageCount x
PreferredMaxBytes x endorsement policy x payload size, on every available backend.

Each cell is a fresh network of the backend asked for (own HEALTHBLOCK_HOME, ports
shifted by STUDY_PORT_OFFSET) whose description carries the cell's batch settings
and channel endorsement policy; the backend that actually ran is read back from
`healthblock network status --json` and a mismatch stops the study. The load is the
Rust open-loop generator (`healthblock bench --open-loop`, release build): fixed
arrival rates in steps, latency from each transaction's scheduled send time,
HdrHistogram percentiles, block sizes and transactions per block read from the
blocks the peer delivers during the window, CPU seconds per network process.

Grids (STUDY_GRID):
- `small` (default, about 10 minutes per backend on 2 cores): the 3 x 3 batch grid
  (BatchTimeout 50 ms / 250 ms / 2 s x MaxMessageCount 10 / 100 / 500) at MAJORITY,
  100-byte kv puts, PreferredMaxBytes 512 KiB; then one factor at a time around
  250 ms / 100: policy ANY, ALL and MAJORITY + the EHR contract's key-level policy
  (`put_record`), payload 4 KiB and 64 KiB, PreferredMaxBytes 32 KiB with 4 KiB payloads.
- `full`: the cross product of the lists in FULL below (hours; for a quiet machine).

Then the tuning part, per backend, on one fresh network started with Fabric's
sample default BatchTimeout 2 s / MaxMessageCount 10 (MAJORITY, kv puts):
1. the default's peak: open-loop rate steps STUDY_PEAK_RATES, peak = most committed tx/s;
2. a measured grid at 50% of that peak through live config updates
   (`healthblock tune --method grid`, STUDY_TUNE_GRID values per dimension,
   STUDY_TUNE_REPEATS repeats), written as a replay table;
3. `healthblock tune compare` on that table: whale, grid and random search over
   STUDY_TUNE_SEEDS seeds at a third of the grid's evaluations;
4. `healthblock tune` (whale, a third of the grid's evaluations) live on the same
   channel, applying its result: before (2 s / 10) and after at the same offered load.

Writes results/study/<backend>/<cell>.json (the generator's own JSON plus the
cell's settings), results/study/<backend>/tune/*.json, and runs bench/study/report.py. A benchmark, not a test: it
asserts nothing about the numbers, but stops if a command fails.
"""

import itertools
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HB = Path(os.environ.get("HB", ROOT / "target/release/healthblock"))
OUT = Path(os.environ.get("STUDY_OUT", ROOT / "results/study"))
OFFSET = os.environ.get("STUDY_PORT_OFFSET", "35500")
GRID = os.environ.get("STUDY_GRID", "small")
RATES = os.environ.get("STUDY_RATES", "100,400,1600")
DURATION = os.environ.get("STUDY_DURATION", "4s")
WARMUP = os.environ.get("STUDY_WARMUP", "1s")
PEAK_RATES = os.environ.get("STUDY_PEAK_RATES", "250,500,1000,2000,4000")
TUNE_GRID = int(os.environ.get("STUDY_TUNE_GRID", "4"))
TUNE_REPEATS = int(os.environ.get("STUDY_TUNE_REPEATS", "2"))
TUNE_SEEDS = int(os.environ.get("STUDY_TUNE_SEEDS", "9"))
TUNE_OBJECTIVE = os.environ.get("STUDY_TUNE_OBJECTIVE", "minimise p95_ms subject to failed_pct<=0")

BASE = {"timeout": "250ms", "count": 100, "preferred": 524288, "policy": "MAJORITY", "payload": 100}
POLICIES = {
    # cell name -> (channel /Channel/Application/Endorsement rule, workload)
    "ANY": ("ANY Endorsement", "kv-put"),
    "MAJORITY": ("MAJORITY Endorsement", "kv-put"),
    "ALL": ("ALL Endorsement", "kv-put"),
    # The EHR contract under its own chaincode-level policy (a peer of every
    # hospital: `--policy every-org`). Results from before 2026-12-07 12:00Z
    # call this cell MAJORITY+SBE: the contract then ran under MAJORITY with a
    # home-hospital key-level policy on every key.
    "EHR": ("MAJORITY Endorsement", "ehr-put-record"),
}
FULL = {
    "timeout": ["50ms", "250ms", "1s", "2s"],
    "count": [10, 100, 500, 1000],
    "preferred": [32768, 524288, 2097152],
    "policy": list(POLICIES),
    "payload": [100, 4096, 65536],
}


def cells():
    if GRID == "full":
        keys = list(FULL)
        for combo in itertools.product(*(FULL[k] for k in keys)):
            yield dict(zip(keys, combo))
        return
    if GRID != "small":
        raise SystemExit(f"STUDY_GRID must be small or full, not {GRID!r}")
    for timeout in ("50ms", "250ms", "2s"):
        for count in (10, 100, 500):
            yield {**BASE, "timeout": timeout, "count": count}
    for policy in ("ANY", "ALL", "EHR"):
        yield {**BASE, "policy": policy}
    for payload in (4096, 65536):
        yield {**BASE, "payload": payload}
    yield {**BASE, "preferred": 32768, "payload": 4096}


def cell_name(c):
    return f"t{c['timeout']}-n{c['count']}-p{c['preferred']}-{c['policy'].replace('+', '_')}-b{c['payload']}"


def log(msg):
    print(f"[study {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def description(c, path):
    text = (ROOT / "network/consortium.yaml").read_text()
    policy_rule = POLICIES[c["policy"]][0]
    repl = {
        "  timeout: ": f"  timeout: {c['timeout']}",
        "  max_message_count: ": f"  max_message_count: {c['count']}",
        "  preferred_max_bytes: ": f"  preferred_max_bytes: {c['preferred']}",
        "  endorsement: ": f"  endorsement: {policy_rule}",
    }
    lines = []
    for line in text.splitlines():
        for prefix, new in repl.items():
            if line.startswith(prefix):
                line = new
        lines.append(line)
    path.write_text("\n".join(lines) + "\n")


def run(args, env, capture=True):
    p = subprocess.run([str(HB), *args], env=env, text=True, capture_output=capture)
    if p.returncode != 0:
        raise SystemExit(f"healthblock {' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p.stdout


class Network:
    """A fresh network of `backend` whose description carries cell `c`."""

    def __init__(self, backend, c):
        self.home = Path(tempfile.mkdtemp(prefix="healthblock-study-"))
        self.cfg = self.home.with_suffix(".yaml")
        description(c, self.cfg)
        # The description goes to `network up` only: later commands read the one `up`
        # recorded (with the port offset applied) from the network's home.
        self.env = {**os.environ, "HEALTHBLOCK_HOME": str(self.home), "HEALTHBLOCK_PORT_OFFSET": OFFSET,
                    "HEALTHBLOCK_BACKEND": backend}
        self.env.pop("HEALTHBLOCK_CONFIG", None)
        self.backend = backend

    def __enter__(self):
        try:
            t0 = time.monotonic()
            run(["--config", str(self.cfg), "network", "up", "--json"], self.env)
            self.up_s = time.monotonic() - t0
            status = json.loads(run(["network", "status", "--json"], self.env))
            if status.get("backend") != self.backend:
                raise SystemExit(f"asked for {self.backend}, network status reports {status.get('backend')}")
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        subprocess.run([str(HB), "network", "down", "--purge"], env=self.env, capture_output=True)
        shutil.rmtree(self.home, ignore_errors=True)
        self.cfg.unlink(missing_ok=True)

    def hb(self, args):
        return run(args, self.env)


def tune(backend, out):
    """The tuning part (see the module doc)."""
    tdir = out / "tune"
    tdir.mkdir(parents=True, exist_ok=True)
    default = {**BASE, "timeout": "2s", "count": 10}
    with Network(backend, default) as net:
        net.hb(["chaincode", "deploy", "--name", "kv"])
        log(f"{backend} tuning: the default's peak (2 s / 10) at {PEAK_RATES} tx/s")
        peak = json.loads(net.hb(["bench", "--open-loop", "--workload", "kv-put", "--rate", PEAK_RATES,
                                  "--duration", DURATION, "--warmup", WARMUP, "--label", "default peak", "--json"]))
        (tdir / "peak.json").write_text(json.dumps(peak, indent=1))
        top = max(s["committed_tps"] for s in peak["steps"])
        rate = round(top / 2)
        log(f"{backend} tuning: peak {top:.0f} tx/s, tuning at 50% = {rate} tx/s")
        common = ["--rate", str(rate), "--objective", TUNE_OBJECTIVE, "--warmup", WARMUP,
                  "--duration", DURATION, "--repeats", str(TUNE_REPEATS), "--json"]
        log(f"{backend} tuning: measured grid {TUNE_GRID} x {TUNE_GRID} x {TUNE_REPEATS} repeats (live config updates)")
        grid = json.loads(net.hb(["tune", "--method", "grid", "--grid-resolution", str(TUNE_GRID),
                                  "--no-apply", "--table", str(tdir / "grid-table.json"), *common]))
        (tdir / "grid.json").write_text(json.dumps(grid, indent=1))
        log(f"{backend} tuning: whale vs grid vs random on the measured grid, {TUNE_SEEDS} seeds")
        cmp = json.loads(net.hb(["tune", "compare", "--table", str(tdir / "grid-table.json"),
                                 "--objective", TUNE_OBJECTIVE, "--seeds", str(TUNE_SEEDS),
                                 "--repeats", str(TUNE_REPEATS), "--json"]))
        (tdir / "compare.json").write_text(json.dumps(cmp, indent=1))
        budget = max(TUNE_REPEATS, (TUNE_GRID * TUNE_GRID * TUNE_REPEATS) // 3)
        log(f"{backend} tuning: live whale run, budget {budget} measurements, then applied")
        live = json.loads(net.hb(["tune", "--method", "whale", "--budget", str(budget), "--seed", "1", *common]))
        (tdir / "live.json").write_text(json.dumps(live, indent=1))


def measure(backend, c):
    with Network(backend, c) as net:
        workload = POLICIES[c["policy"]][1]
        who = []
        if workload.startswith("ehr"):
            net.hb(["chaincode", "deploy", "--name", "ehr", "--policy", "every-org",
                    "--binary", str(HB.parent / "healthblock-ehrcc")])
            # The EHR contract serves hospital users with a role: a doctor enrolled at the hospital's CA.
            net.hb(["user", "register", "--org", "Hospital1", "--name", "studydoc", "--role", "doctor",
                    "--secret", "study-doctor-secret"])
            net.hb(["user", "enroll", "--org", "Hospital1", "--name", "studydoc", "--secret", "study-doctor-secret"])
            who = ["--as", "studydoc@Hospital1"]
        else:
            net.hb(["chaincode", "deploy", "--name", "kv"])
        report = json.loads(net.hb([
            "bench", "--open-loop", *who, "--workload", workload, "--rate", RATES,
            "--duration", DURATION, "--warmup", WARMUP, "--value-size", str(c["payload"]),
            "--label", cell_name(c), "--json"]))
        report["cell"] = c
        report["network_up_s"] = round(net.up_s, 2)
        return report


def main():
    if not HB.exists():
        raise SystemExit(f"{HB} is missing: build it first (make study builds release binaries)")
    backends = ["devnet"]
    if os.environ.get("FABRIC_BIN") and os.environ.get("FABRIC_CFG_PATH"):
        backends.append("fabric")
    else:
        print("SKIPPED: the fabric backend (FABRIC_BIN and FABRIC_CFG_PATH not set); studying the devnet only")
    only = os.environ.get("STUDY_BACKENDS")
    if only:
        backends = [b for b in backends if b in only.split(",")]
    grid = list(cells())
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    for backend in backends:
        out = OUT / backend
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        for i, c in enumerate(grid, 1):
            log(f"{backend} cell {i}/{len(grid)}: {cell_name(c)}")
            report = measure(backend, c)
            ran = report.get("backend")
            if ran != backend:
                raise SystemExit(f"cell {cell_name(c)}: asked for {backend}, the generator recorded {ran}")
            (out / f"{cell_name(c)}.json").write_text(json.dumps(report, indent=1))
        if os.environ.get("STUDY_TUNE", "1") != "0":
            tune(backend, out)
    meta = {
        "started": started,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "grid": GRID, "rates": RATES, "duration": DURATION, "warmup": WARMUP,
        "tune": {"grid": TUNE_GRID, "repeats": TUNE_REPEATS, "seeds": TUNE_SEEDS, "objective": TUNE_OBJECTIVE,
                 "peak_rates": PEAK_RATES},
        "backends": backends,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "cpu": _cpu_model(), "loadavg_at_end": os.getloadavg()},
    }
    (OUT / "meta.json").write_text(json.dumps(meta, indent=1))
    subprocess.run([sys.executable, str(ROOT / "bench/study/report.py"), str(OUT)], check=True)


def _cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


if __name__ == "__main__":
    main()
