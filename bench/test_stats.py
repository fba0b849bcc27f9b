"""Unit tests of bench/stats.py (run by scripts/test.sh:
`python3 -m unittest discover -s bench -p 'test_*.py'`)."""

import unittest

from stats import percentile, rank, summarize


class NearestRank(unittest.TestCase):
    def test_p95_of_20_is_the_19th_value(self):
        values = list(range(1, 21))
        self.assertEqual(rank(95, 20), 19)
        self.assertEqual(percentile(values, 95), 19)
        # The old `round(q*n + 0.5)` rounded 19.5 to 20 (half to even): the maximum.
        self.assertNotEqual(percentile(values, 95), max(values))

    def test_order_of_input_does_not_matter(self):
        self.assertEqual(percentile([5, 1, 4, 2, 3], 50), 3)

    def test_small_and_edge_cases(self):
        self.assertEqual(percentile([7], 95), 7)
        self.assertEqual(percentile([1, 2], 50), 1)
        self.assertEqual(percentile(list(range(1, 101)), 99), 99)
        self.assertEqual(percentile(list(range(1, 101)), 100), 100)
        self.assertEqual(rank(99.9, 1000), 999)
        self.assertEqual(rank(95, 25), 24)  # ceil(23.75)

    def test_refuses_nonsense(self):
        with self.assertRaises(ValueError):
            percentile([], 50)
        with self.assertRaises(ValueError):
            rank(0, 10)
        with self.assertRaises(ValueError):
            rank(101, 10)

    def test_summarize_reports_nearest_ranks(self):
        s = summarize([float(v) for v in range(20, 0, -1)])
        self.assertEqual((s["runs"], s["p50_ms"], s["p95_ms"]), (20, 10.0, 19.0))
        self.assertEqual((s["min_ms"], s["max_ms"]), (1.0, 20.0))
        self.assertEqual(s["all_ms"][0], 20.0)


if __name__ == "__main__":
    unittest.main()
