"""Pairwise and B-cubed scores on clusterings small enough to check by hand."""

import pyarrow as pa
import pytest

from scv.evaluate import score


def clustering(pairs: dict[str, str], column: str) -> pa.Table:
    return pa.table({"record_key": list(pairs), column: list(pairs.values())})


def test_perfect_clustering_scores_one():
    truth = clustering({"a": "1", "b": "1", "c": "2"}, "entity")
    s = score(clustering({"a": "x", "b": "x", "c": "y"}, "cluster"), truth)
    assert (s.precision, s.recall, s.f1, s.bcubed_f1) == (1.0, 1.0, 1.0, 1.0)
    assert (s.clusters, s.true_entities) == (2, 2)


def test_one_wrong_merge_lowers_precision_only():
    truth = clustering({"a": "1", "b": "1", "c": "2"}, "entity")
    s = score(clustering({"a": "x", "b": "x", "c": "x"}, "cluster"), truth)
    assert s.predicted_pairs == 3 and s.true_positive_pairs == 1
    assert s.precision == pytest.approx(1 / 3, abs=1e-6) and s.recall == 1.0
    assert s.bcubed_precision == pytest.approx((2 / 3 + 2 / 3 + 1 / 3) / 3, abs=1e-6)


def test_missed_link_lowers_recall_only():
    truth = clustering({"a": "1", "b": "1", "c": "1"}, "entity")
    s = score(clustering({"a": "x", "b": "x", "c": "y"}, "cluster"), truth)
    assert s.precision == 1.0 and s.recall == pytest.approx(1 / 3, abs=1e-6)


def test_records_missing_from_the_truth_are_counted_not_scored():
    truth = clustering({"a": "1", "b": "1"}, "entity")
    s = score(clustering({"a": "x", "b": "x", "z": "x"}, "cluster"), truth)
    assert s.records == 2 and s.unmatched_truth_records == 1 and s.f1 == 1.0
