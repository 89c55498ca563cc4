"""Scores on clusterings and pairs small enough to check by hand, then one real run.

Pairwise and B-cubed scores against the truth; clerical labels; precision and recall of
the scored pairs against the match threshold, and its chart.
"""

import json
import math
import re
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from conftest import SHARED_DATA
from scv import Project
from scv.cli import app
from scv.curve_chart import write_chart
from scv.curves import threshold_curve
from scv.errors import ConfigError
from scv.evaluate import Labels, LabelScores, read_labels, score, score_labels

runner = CliRunner()


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


# Clerical labels: pairs a person judged, mapped onto record keys and scored on the clusters.

LABEL_HEADER = "source_dataset_l,unique_id_l,source_dataset_r,unique_id_r,clerical_match_score\n"


def labels_file(folder: Path, rows: list[str], header: str = LABEL_HEADER) -> Path:
    path = folder / "labels.csv"
    path.write_text(header + "".join(f"{r}\n" for r in rows), encoding="utf-8")
    return path


def label_rows(labels: Labels) -> list[tuple]:
    t = labels.pairs
    return list(zip(*(t[c].to_pylist() for c in ("record_key_l", "record_key_r", "match"))))


def test_labels_name_records_by_source_and_source_record_id(tmp_path):
    path = labels_file(tmp_path, ["crm,c1,shop,101,1", "crm,c2,shop,103,0"])
    labels = read_labels(path, ["crm", "shop"])
    assert label_rows(labels) == [("crm:c1", "shop:101", True), ("crm:c2", "shop:103", False)]
    assert labels.source_mapping == {}


def test_labels_of_another_dataset_name_are_read_as_the_only_source(tmp_path):
    path = labels_file(tmp_path, ["fake_1000,0,fake_1000,1,1.0"])
    labels = read_labels(path, ["people"])
    assert label_rows(labels) == [("people:0", "people:1", True)]
    assert labels.source_mapping == {"fake_1000": "people"}


def test_labels_without_source_columns_are_read_as_the_only_source(tmp_path):
    path = labels_file(tmp_path, ["0,1,1"], header="unique_id_l,unique_id_r,clerical_match_score\n")
    assert label_rows(read_labels(path, ["people"])) == [("people:0", "people:1", True)]


def test_an_unknown_label_source_is_an_error_naming_it_and_the_project_sources(tmp_path):
    path = labels_file(tmp_path, ["crm,c1,billing,9,1"])
    with pytest.raises(ConfigError, match=r"unknown source\(s\) 'billing'.*sources are crm, shop"):
        read_labels(path, ["crm", "shop"])


def test_a_labels_file_without_the_needed_columns_names_them(tmp_path):
    path = labels_file(tmp_path, ["c1,101,1"], header="id_l,id_r,clerical_match_score\n")
    with pytest.raises(ConfigError) as err:
        read_labels(path, ["crm", "shop"])
    message = str(err.value)
    assert "missing column(s) source_dataset_l, unique_id_l, source_dataset_r, unique_id_r" in message
    assert "\n" not in message and "a labels file has columns" in message


def test_probability_scores_are_matches_from_one_half_in_parquet_too(tmp_path):
    path = tmp_path / "labels.parquet"
    pq.write_table(pa.table({"source_dataset_l": ["crm"] * 3, "unique_id_l": [1, 2, 3],
                             "source_dataset_r": ["shop"] * 3, "unique_id_r": [4, 5, 6],
                             "clerical_match_score": [0.49, 0.5, 0.93]}), path)
    assert [m for *_, m in label_rows(read_labels(path, ["crm", "shop"]))] == [False, True, True]


def test_a_score_that_is_not_between_0_and_1_is_an_error(tmp_path):
    path = labels_file(tmp_path, ["crm,c1,shop,101,yes", "crm,c1,shop,102,2"])
    with pytest.raises(ConfigError, match="2 row"):
        read_labels(path, ["crm", "shop"])


def test_labelled_pairs_are_predicted_matches_when_in_one_cluster():
    predicted = clustering({"s:a": "x", "s:b": "x", "s:c": "x", "s:d": "y"}, "cluster")
    labels = Labels(pa.table({
        "record_key_l": ["s:a", "s:a", "s:b", "s:c", "s:a"],
        "record_key_r": ["s:b", "s:c", "s:d", "s:d", "s:gone"],
        "match": [True, False, True, False, True],
    }))
    s = score_labels(predicted, labels)
    assert (s.true_positives, s.false_positives, s.false_negatives, s.true_negatives) == (1, 1, 1, 1)
    assert (s.labels, s.labelled_matches, s.unknown_record_labels) == (5, 3, 1)
    assert (s.precision, s.recall, s.f1) == (0.5, 0.5, 0.5)


# Precision and recall of the scored pairs against the threshold, on a hand-made silver/pairs.
# Truth: {a, b, c} and {d, e}, so 4 true pairs; a-c was never scored (missed by blocking).

TRUTH = clustering({"a": "1", "b": "1", "c": "1", "d": "2", "e": "2"}, "entity")
RECORDS = pa.table({"record_key": ["a", "b", "c", "d", "e"]})


def scored_pairs(*rows: tuple[str, str, float]) -> pa.Table:
    l, r, p = zip(*rows)
    return pa.table({"record_key_l": l, "record_key_r": r, "match_probability": p,
                     "match_weight": [math.log2(x / (1 - x)) for x in p]})


PAIRS = scored_pairs(("a", "b", 0.95), ("a", "d", 0.7), ("b", "c", 0.6), ("d", "e", 0.2))


def at(points: list, threshold: float):
    return next(p for p in points if p.threshold == threshold)


def test_curve_counts_the_pairs_at_or_above_each_threshold():
    c = threshold_curve(PAIRS, RECORDS, truth=TRUTH, configured=0.9)
    assert (c.true_pairs, c.true_pairs_unscored, c.judged_pairs_scored) == (4, 1, 4)
    expected = {0.01: (4, 3), 0.2: (4, 3), 0.21: (3, 2), 0.6: (3, 2), 0.61: (2, 1), 0.71: (1, 1), 0.96: (0, 0)}
    for threshold, counts in expected.items():
        point = at(c.by_probability, threshold)
        assert (point.predicted_pairs, point.true_positive_pairs) == counts, threshold
    assert (at(c.by_probability, 0.2).precision, at(c.by_probability, 0.2).recall) == (0.75, 0.75)
    assert at(c.by_probability, 0.71).precision == 1.0 and at(c.by_probability, 0.71).recall == 0.25
    assert at(c.by_probability, 0.96).precision == 1.0  # nothing predicted: nothing wrong


def test_curve_recall_never_rises_with_the_threshold_and_never_counts_unscored_pairs():
    c = threshold_curve(PAIRS, RECORDS, truth=TRUTH)
    for points in (c.by_probability, c.by_weight):
        recalls = [p.recall for p in points]
        predicted = [p.predicted_pairs for p in points]
        assert recalls == sorted(recalls, reverse=True) and predicted == sorted(predicted, reverse=True)
        assert max(recalls) == 0.75  # a-c was never scored, so no threshold finds it
    assert [p.match_weight for p in c.by_weight[:3]] == [-6.0, -5.0, -4.0]


def test_the_best_threshold_is_the_highest_of_equal_f1_and_the_configured_one_is_kept():
    c = threshold_curve(PAIRS, RECORDS, truth=TRUTH, configured=0.9)
    assert (c.best.threshold, c.best.f1) == (0.2, 0.75) and c.recommended_threshold == 0.2
    assert (c.configured.threshold, c.configured.predicted_pairs, c.configured.recall) == (0.9, 1, 0.25)
    assert c.as_dict()["recommended_threshold"] == 0.2


def test_the_configured_threshold_is_recommended_when_it_does_as_well_as_the_best():
    c = threshold_curve(PAIRS, RECORDS, truth=TRUTH, configured=0.1)
    assert c.best.threshold == 0.2 and c.configured.f1 == c.best.f1 and c.recommended_threshold == 0.1


def test_true_pairs_are_counted_from_entity_sizes_not_listed():
    keys = [f"r{i}" for i in range(200_000)]
    truth = pa.table({"record_key": keys, "entity": ["one"] * len(keys)})
    c = threshold_curve(scored_pairs(("r0", "r1", 0.99)), pa.table({"record_key": keys}), truth=truth)
    assert c.true_pairs == 200_000 * 199_999 // 2 and c.true_pairs_unscored == c.true_pairs - 1


def test_curve_from_labels_judges_only_labelled_pairs_of_known_records():
    labels = Labels(pa.table({
        "record_key_l": ["b", "a", "c", "x"],  # b-a is a-b the other way round; x is not a record
        "record_key_r": ["a", "d", "e", "a"],
        "match": [True, False, True, True],
    }))
    c = threshold_curve(PAIRS, RECORDS, labels=labels)
    assert c.judged_by == "labels" and (c.true_pairs, c.true_pairs_unscored, c.judged_pairs_scored) == (2, 1, 2)
    half = at(c.by_probability, 0.5)
    assert (half.predicted_pairs, half.true_positive_pairs, half.precision, half.recall) == (2, 1, 0.5, 0.5)


def test_the_chart_is_one_offline_html_file_with_an_svg(tmp_path):
    curve = threshold_curve(PAIRS, RECORDS, truth=TRUTH)
    html = write_chart(curve, tmp_path / "out" / "curve.html").read_text(encoding="utf-8")
    assert html.count("<svg") == 2 and "<polyline" in html
    assert not re.search(r"https?:|<script|\bsrc=|@import|url\(", html)
    assert "Recommended <code>linkage.threshold</code>: <b>0.20</b> (configured 0.90;" in html


# The whole way: a default run over Splink's fake_1000, judged by its clerical labels.

def test_fake_1000_labels_score_a_default_run(fake_1000, tmp_path):
    labels = tmp_path / "fake_1000_labels.csv"
    shutil.copy(SHARED_DATA / "fake_1000_labels.csv", labels)
    project = Project.load(fake_1000)
    project.run()
    result = runner.invoke(app, ["evaluate", "--config", str(fake_1000), "--labels", str(labels),
                                 "--curve", "--chart", str(tmp_path / "curve.html"), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert (out["labels"], out["labelled_matches"], out["unknown_record_labels"]) == (3176, 2031, 0)
    assert out["source_mapping"] == {"fake_1000": "people"}
    # the labels hold every true pair, so their recall is the truth's pairwise recall
    assert out["recall"] == project.evaluate().recall and out["f1"] > 0.7
    curve = out["curve"]
    clustered_at = json.loads(project.lakehouse.read_table("audit/runs")["linkage"][-1].as_py())["threshold"]
    assert curve["true_pairs"] == 2031 and curve["configured"]["threshold"] == clustered_at
    assert 0 < curve["recommended_threshold"] < 1 and "<svg" in (tmp_path / "curve.html").read_text()
    assert project.evaluate(labels=labels) == LabelScores(**{k: v for k, v in out.items() if k != "curve"})


def test_a_bad_labels_file_is_one_line_and_exit_code_2(two_sources, tmp_path):
    path = labels_file(tmp_path, ["crm,c1,billing,9,1"])
    result = runner.invoke(app, ["evaluate", "--config", str(two_sources), "--labels", str(path)])
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0 and "billing" in result.stderr
