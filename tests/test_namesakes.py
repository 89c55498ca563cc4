"""Two people, not one: records under first names that cannot be one person's."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pyarrow as pa
import pytest

from scv.link import weight
from scv.namesakes import ATTESTED_NAME, TWO_PEOPLE, weigh_two_people

FLOOR = weight(0.01)
NAMES = ["laura", "kevin", "maria", "oscar"]  # each unlike the others


def load(engine, pairs: list[tuple[str, str, str, str]]) -> None:
    """silver_records of two sources of 100 records each, first names from NAMES (every
    one a name people have), and engine table `pairs` of (record, its name, record, its
    name) at +12 bits."""
    engine.splink_api()  # as in a run, linkage first: on Spark it registers the similarity functions
    names = {left: a for left, a, _, _ in pairs} | {right: b for _, _, right, b in pairs}
    keys = [f"{s}:{i:03d}" for s in ("crm", "shop") for i in range(100)]
    first = [names.get(k, NAMES[i % len(NAMES)]) for i, k in enumerate(keys)]
    engine.read_arrow("silver_records", pa.table({
        "record_key": keys, "source": [k.split(":")[0] for k in keys], "first_name": first,
        "last_name": ["scott"] * len(keys), "first_name_key": first, "first_name_phonetic": [n.upper() for n in first]}))
    engine.view("link_inputs", "select * from silver_records")  # the records linked, as a run has them
    engine.read_arrow("pairs", pa.table({
        "record_key_l": [p[0] for p in pairs], "record_key_r": [p[2] for p in pairs],
        "match_weight": [12.0] * len(pairs), "match_probability": [1 / (1 + 2 ** -12.0)] * len(pairs)}))
    assert min(first.count(n) for n in NAMES) >= ATTESTED_NAME


def weights(engine) -> dict[tuple[str, str], float]:
    return {(l, r): w for l, r, w in engine.rows("select record_key_l, record_key_r, match_weight from pairs")}


def test_links_across_sources_under_unlike_names_count_as_two_people_as_often_as_inside_a_list(engine):
    # 20 twins inside the CRM, a list of each person mostly once; 80 links across under
    # unlike names. Per possible pair inside (4,950) the twins predict 40.4 of the links
    # across (10,000 possible): half of them are two people, so each keeps half its odds
    twins = [(f"crm:{i:03d}", "laura", f"crm:{i + 50:03d}", "kevin") for i in range(20)]
    across = [(f"crm:{i:03d}", "maria", f"shop:{i:03d}", "oscar") for i in range(20, 100)]
    same_name = [("crm:000", "laura", "shop:000", "laura")]
    load(engine, twins + across + same_name)
    run = SimpleNamespace(engine=engine, linkage_facts={})
    weigh_two_people(run, ["crm"], 0.5, FLOOR)

    share = 20 * 10_000 / 4_950 / 80
    p = 1 / (1 + 2 ** -12.0) * (1 - share)
    found = weights(engine)
    assert run.linkage_facts["two_people_share"] == pytest.approx(share, abs=1e-4)
    assert found[("crm:020", "shop:020")] == pytest.approx(math.log2(p / (1 - p)), abs=1e-6)
    assert found[("crm:000", "crm:050")] == pytest.approx(FLOOR)
    assert found[("crm:000", "shop:000")] == 12.0
    assert engine.count(TWO_PEOPLE) == 100


def test_without_a_list_of_people_mostly_once_links_across_keep_their_weight(engine):
    # one source replaces names as febrl does: nothing measures how often that is two people
    load(engine, [(f"crm:{i:03d}", "maria", f"shop:{i:03d}", "oscar") for i in range(50)])
    run = SimpleNamespace(engine=engine, linkage_facts={})
    weigh_two_people(run, [], 0.5, FLOOR)

    assert set(weights(engine).values()) == {12.0}
    assert run.linkage_facts["two_people_share"] is None
