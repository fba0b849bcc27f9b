"""Owns: the unit tests of bench/caliper_summary.py (figures and failure detection)."""

import json
import os
import tempfile
import unittest

from caliper_summary import round_figures, summarize


def tx(created, final, status="success", label="r", round_index=0):
    return {"round": round_index, "label": label, "worker": 0, "id": f"t{created}", "type": "transaction",
            "status": status, "created": created, "final": final}


class RoundFigures(unittest.TestCase):
    def test_rates_and_nearest_rank_percentiles(self):
        # 20 transactions created 100 ms apart, latencies 10, 20, ..., 200 ms.
        txs = [tx(1000 + 100 * i, 1000 + 100 * i + 10 * (i + 1)) for i in range(20)]
        fig = round_figures("r", txs, [{"label": "r"}], [])
        self.assertEqual((fig["sent"], fig["succeeded"], fig["failed"]), (20, 20, 0))
        # Sent over first to last creation (1.9 s); succeeded over first creation to last final (2.1 s).
        self.assertEqual(fig["send_rate_tps"], round(20 / 1.9, 1))
        self.assertEqual(fig["throughput_tps"], round(20 / 2.1, 1))
        # Nearest rank: p50 is the 10th value, p95 the 19th, p99 the 20th.
        self.assertEqual(fig["latency_ms"]["p50"], 100)
        self.assertEqual(fig["latency_ms"]["p95"], 190)
        self.assertEqual(fig["latency_ms"]["p99"], 200)

    def test_failed_transactions_are_counted_and_left_out_of_latency(self):
        txs = [tx(0, 50), tx(10, 5000, status="failed")]
        fig = round_figures("r", txs, [{"label": "r"}], [])
        self.assertEqual((fig["succeeded"], fig["failed"]), (1, 1))
        self.assertEqual(fig["latency_ms"]["max"], 50)


class Summarize(unittest.TestCase):
    def run_dir(self, lines, checks=()):
        d = tempfile.mkdtemp()
        os.makedirs(os.path.join(d, "tx"))
        with open(os.path.join(d, "tx", "tx-w0.jsonl"), "w") as f:
            f.write("".join(json.dumps(line) + "\n" for line in lines))
        for c in checks:
            with open(os.path.join(d, "tx", f"checks-r{c['round']}-w0.json"), "w") as f:
                json.dump(c, f)
        return d

    def marker(self, label, round_index):
        return {"event": "round", "round": round_index, "label": label, "worker": 0, "started": 0, "ended": 1}

    def test_a_clean_run_has_no_problems(self):
        d = self.run_dir([tx(0, 5, label="a"), self.marker("a", 0)],
                         [{"round": 0, "worker": 0, "checked": 1, "unexpected": 0}])
        rounds, problems = summarize(d, ["a"])
        self.assertEqual(problems, [])
        self.assertEqual(rounds[0]["checked"], 1)

    def test_missing_round_failure_and_unexpected_answer_are_problems(self):
        d = self.run_dir(
            [tx(0, 5, label="a"), tx(1, 6, status="failed", label="a"), self.marker("a", 0),
             tx(0, 5, label="b", round_index=1), self.marker("b", 1)],
            [{"round": 1, "worker": 0, "checked": 1, "unexpected": 1, "examples": ["denied"]}])
        rounds, problems = summarize(d, ["a", "b", "c"])
        self.assertEqual([r["label"] for r in rounds], ["a", "b", "c"])
        self.assertEqual(len(problems), 3, problems)
        self.assertIn("1 failed", problems[0])
        self.assertIn("unexpected answer", problems[1])
        self.assertIn("did not run", problems[2])
        self.assertEqual(rounds[1]["unexpected_examples"], ["denied"])


if __name__ == "__main__":
    unittest.main()
