"""The linkage section of the run report: blocking, the model, the scores, the clusters, a sample.

Drawn from what the run left: its model (models/<run>.json), silver/pairs and
gold/customer_xref while they still hold this run's output (the newest run that linked,
and that published, wrote them), and the linkage facts of its audit/runs row. Charts are
inline SVG with no script, like the rest of the report; the sample of pairs shows
personal values as shapes (`scv.report_sample`).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import TypedDict

import pyarrow as pa
import pyarrow.compute as pc

from scv.blocking import EXACT_COUNT_LIMIT
from scv.lakehouse import Lakehouse
from scv.link import weight
from scv.report import BAR, TRACK, _bar, _e, _json, _n, _pct, _svg, _text
from scv.report_sample import Sample, sample_pairs, sample_section

POSITIVE, NEGATIVE, MUTED, GRID = "#1a7f37", "#c62828", "#8c959f", "#d8dee4"
SIZE_BUCKETS = ((11, 20), (21, 50), (51, 100), (101, 1000), (1001, None))  # beyond sizes 1-10


class BlockingRule(TypedDict):
    rule: str  # the rule's SQL as Splink writes it
    comparisons: int  # pairs the rule generates that no earlier rule did


class EmSession(TypedDict):
    blocked_on: list[str]
    estimated: list[str]  # comparisons whose estimate counts
    set_aside: list[str]  # comparisons whose estimate was implausible
    failed: bool  # Splink could not train on this block


class LinkageFacts(TypedDict, total=False):
    """What link records on `Run.linkage_facts`; every key may be missing, others are listed as found."""

    threshold: float  # the probability records were clustered at
    threshold_configured: float | str  # linkage.threshold as configured: a probability or "auto"
    blocking_rules: list[BlockingRule]
    blocking_count_sample: float  # share of records the rules' comparisons were counted on (1: exact)
    budget_per_record: float | None  # comparisons a record may cost
    estimated_blocking_recall: float | None  # share of true matches the rules generate
    pairs_to_score: int  # pairs the rules chosen against the budget admit, each rule counted alone
    prediction_parts: int  # parts Splink scored the blocked pairs in (scv.link.chunks)
    prior_from_rules: float  # the prior the deterministic rules gave, before it was re-estimated
    prior_sample: float  # share of records the deterministic rules' pairs were counted on (1: exact)
    prior: float  # the prior the model was saved with
    u_net_of_matches: dict[str, dict[str, float]]  # bits a level gained, by comparison and level (scv.training)
    em_sessions: list[EmSession]
    share_linked_strangers: float  # linked pairs disagreeing on first name and date of birth (the guard's measure)
    strangers_expected: float  # the model's own share of such pairs among one person's records
    retrained_without: list[str]  # comparisons the guard dropped when the model linked strangers
    model_source: str  # "trained" on this run's records, or "reused" (linkage.model)
    model_path: str  # linkage.model as written, when reused
    settings_overridden: list[str]  # the Splink settings linkage.splink gave
    recommended_threshold: float  # highest expected F1 over the scored pairs' calibrated probabilities
    expected_f1_at_recommended: float
    expected_f1_at_threshold: float
    clusters_split: int  # components parted into coherent customers (scv.clusters, scv.coherence)
    clusters_weak_link: int  # customers to review: a pair inside holds evidence against
    clusters_loose: int  # customers to review: fewer than half their record pairs at the threshold
    largest_component: int  # records in the largest group at the threshold, before parting
    largest_customer: int  # records in the largest customer
    pairs_scored_inside: int  # pairs inside components that blocking had missed, scored to part them
    one_to_one: dict[str, str]  # sources linked one-to-one: "declared" or "detected" (scv.structure)
    inside_to_across_link_ratio: dict[str, float | None]  # the detection's measure, per source
    two_people_inside: int  # links inside a list of people mostly once under unlike names (scv.namesakes)
    two_people_across: int  # links across sources under unlike names
    two_people_share: float | None  # of those across, the share measured as two people
    home_pairs: int  # pairs of records sharing a surname and a street or phone (scv.households)
    home_share_one_person: float  # of those, the share measured as one person
    home_links_undone: int  # links whose records' own first name and birth date part them
    expected: dict[str, float]  # expected precision, recall, f1 of the customers (scv.assessment)
    expected_f1: float
    records_alike_apart: int  # records identical in every compared field to another customer's
    verdict: str  # plain words when the customers should not be trusted as they are


@dataclass
class Linkage:
    run_id: str
    facts: dict
    records: int | None  # records in silver, that were linked
    model: dict | None = None
    levels: list = field(default_factory=list)  # Splink's parameter records of the model, prior first
    probability: pa.ChunkedArray | None = None  # this run's pairs, when silver/pairs still holds them
    weights: pa.ChunkedArray | None = None
    clusters: Counter | None = None  # records in a cluster -> customers
    largest: tuple[int, str] | None = None  # records, customer id
    sample: Sample | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def threshold(self) -> float | None:
        return self.facts.get("threshold")

    def above_threshold(self) -> int | None:
        if self.probability is None or self.threshold is None:
            return None
        return pc.sum(pc.greater_equal(self.probability, self.threshold)).as_py() or 0


def load(lake: Lakehouse, run: dict, runs: list[dict]) -> Linkage | None:
    """What the section is drawn from; None for a run that did not link (`scv validate`)."""
    run_id, stages = run["run_id"], _json(run["stage_seconds"], {})
    if "link" not in stages and run["failed_stage"] != "link":
        return None
    link = Linkage(run_id, _json(run.get("linkage"), {}), run["records_silver"])
    if run["failed_stage"] == "link":
        link.notes.append("The link stage failed: what it left is shown.")
    if f"models/{run_id}.json" in lake.files("models"):
        link.model = json.loads(lake.read_file(f"models/{run_id}.json"))
        link.levels = levels(link.model)
    elif "link" in stages:
        link.notes.append(f"No model models/{_e(run_id)}.json: with fewer than 2 records nothing is linked.")
    if _holder(runs, "link") == run_id and lake.exists("silver/pairs"):
        pairs = lake.read("silver/pairs").to_table(columns=["match_weight", "match_probability"])
        link.weights, link.probability = pairs["match_weight"], pairs["match_probability"]
        if link.model and len(pairs) and lake.exists("silver/records"):
            link.sample = sample_pairs(lake, link.probability, link.model)
    elif "link" in stages:
        link.notes.append(_gone("silver/pairs", _holder(runs, "link"), run_id) + ": scores and sample not shown.")
    if _holder(runs, "publish") == run_id and lake.exists("gold/customer_xref"):
        ids = lake.read("gold/customer_xref").to_table(columns=["customer_id"])["customer_id"]
        per_customer = pc.value_counts(ids)
        sizes = per_customer.field("counts").to_pylist()
        link.clusters = Counter(sizes)
        if sizes:
            top = max(range(len(sizes)), key=lambda i: (sizes[i], -i))
            link.largest = (sizes[top], per_customer.field("values")[top].as_py())
    elif "publish" in stages:
        holder = _holder(runs, "publish")
        link.notes.append(_gone("gold/customer_xref", holder, run_id) + ": cluster sizes not shown.")
    else:
        link.notes.append("This run did not publish gold: cluster sizes not shown.")
    return link


def levels(model: dict) -> list:
    """Splink's records of each level's m, u and weight (with its defaults for untrained ones)."""
    from splink import SettingsCreator

    settings = SettingsCreator.from_path_or_dict(model).get_settings(model["sql_dialect"])
    return settings._parameters_as_detailed_records


def _gone(table: str, holder: str | None, run_id: str) -> str:
    if holder == run_id:
        return f"{table} is not in this lakehouse"
    return f"{table} now holds the output of a later run ({_e(holder)})"


def _holder(runs: list[dict], stage: str) -> str | None:
    """The run whose output a table written by `stage` holds: the newest that completed it."""
    done = [r for r in runs if stage in _json(r["stage_seconds"], {})]
    return max(done, key=lambda r: r["started_at"])["run_id"] if done else None


def cards(link: Linkage | None, run: dict) -> list[tuple[str, str]]:
    """The summary's linkage numbers."""
    if link is None:
        return []
    largest = "—" if link.largest is None else f"{link.largest[0]:,} records"
    return [("pairs scored", _n(run["pairs_scored"])), ("pairs ≥ threshold", _n(link.above_threshold())),
            ("largest cluster", largest)]


def section(link: Linkage) -> str:
    t = link.threshold
    threshold = "—" if t is None else f"<b>{t:g}</b> (match weight {_fmt_weight(weight(t))})"
    intro = (f"Records linked: <b>{_n(link.records)}</b> · clustering threshold: {threshold}"
             f"{_recommended(link.facts)} · model <code>models/{_e(link.run_id)}.json</code>{_given(link.facts)}")
    parts = ['<h2 id="linkage">Linkage</h2>', f'<p class="sub">{intro}</p>']
    parts += [f'<p class="note">{n}</p>' for n in link.notes]
    parts += ["<h3>Blocking</h3>", _blocking(link.facts, link.records)]
    if link.model:
        parts += ["<h3>Model: m, u and match weight of each comparison level</h3>", _model(link),
                  _em_sessions(link.facts.get("em_sessions") or []), _guard(link.facts)]
    if link.weights is not None:
        parts += ["<h3>Match weights of scored pairs</h3>", _histogram(link)]
    if link.clusters is not None:
        parts += ["<h3>Cluster sizes</h3>", _clusters(link.clusters, link.largest)]
    if "clusters_split" in link.facts:
        parts += ["<h3>Cluster review</h3>", _review(link.facts)]
    if link.sample is not None:
        names = [c["output_column_name"] for c in link.model["comparisons"]]
        parts += ["<h3>Sample of scored pairs by match probability</h3>",
                  sample_section(link.sample, link.levels, names)]
    return "\n".join(parts)


def _given(facts: dict) -> str:
    """Where the model came from, when scv did not derive and train it all itself."""
    said = []
    if facts.get("model_source") == "reused":
        said.append(f"reused from <code>{_e(facts.get('model_path'))}</code>, not trained on this run's records")
    if facts.get("settings_overridden"):
        said.append("Splink settings from linkage.splink: " + ", ".join(_e(k) for k in facts["settings_overridden"]))
    return "".join(f" · {s}" for s in said)
def _recommended(facts: dict) -> str:
    t = facts.get("recommended_threshold")
    if facts.get("threshold_configured") == "auto":
        return (" (<code>auto</code>: the highest expected F1 over the calibrated scores, "
                f"{facts.get('expected_f1_at_recommended', float('nan')):.3f}, never below 0.5)")
    if t is None:
        return ""
    return (f" · recommended from the scores: <b>{t:.3g}</b> (expected F1 {facts['expected_f1_at_recommended']:.3f}"
            f", at the configured threshold {facts['expected_f1_at_threshold']:.3f})")


def _review(facts: dict) -> str:
    weak, loose = facts.get("clusters_weak_link", 0), facts.get("clusters_loose", 0)
    said = [f"<p><b>{facts['clusters_split']:,}</b> groups at the threshold parted into coherent customers, "
            "each record joining on the evidence against the customer as a whole, not one pair "
            f"(largest group <b>{_n(facts.get('largest_component'))}</b> records, largest customer "
            f"<b>{_n(facts.get('largest_customer'))}</b>; <b>{_n(facts.get('pairs_scored_inside', 0))}</b> "
            "pairs inside the groups that blocking had missed scored for it; their customers' "
            f"<code>review_reason</code> is <code>split</code>). <b>{weak + loose:,}</b> customers need review "
            f"(<code>needs_review</code> in gold/customers): <b>{weak:,}</b> hold a pair with evidence "
            f"against, <b>{loose:,}</b> loose, fewer than half of their record pairs scoring at the threshold.</p>"]
    if facts.get("one_to_one"):
        said.append("<p>Linked one-to-one (no customer holds two of their records): " + ", ".join(
            f"<b>{_e(s)}</b> ({_e(how)})" for s, how in facts["one_to_one"].items()) + ".</p>")
    if facts.get("two_people_inside") or facts.get("two_people_across"):
        share = facts.get("two_people_share")
        across = ("kept as scored (too few inside to measure how often they are two people)" if share is None
                  else f"weighed as two people <b>{_pct(share)}</b> of the time, as often as inside")
        said.append(f"<p>Links under first names that cannot be one person's: "
                    f"<b>{facts.get('two_people_inside', 0):,}</b> inside sources that hold people mostly once, "
                    f"parted as two people; <b>{facts.get('two_people_across', 0):,}</b> across sources, {across}.</p>")
    if facts.get("home_links_undone") is not None:
        said.append(f"<p>Homes counted once: of <b>{facts['home_pairs']:,}</b> pairs of records sharing a surname "
                    f"and a street or phone, <b>{_pct(facts['home_share_one_person'])}</b> are measured as one "
                    f"person; <b>{facts['home_links_undone']:,}</b> links were undone where the records' own first "
                    "name and birth date say two members of one home.</p>")
    expected = facts.get("expected")
    if expected:
        said.append(f"<p>Expected on the customers, from the calibrated scores: precision "
                    f"<b>{expected['precision']:.3f}</b>, recall <b>{expected['recall']:.3f}</b>, F1 "
                    f"<b>{expected['f1']:.3f}</b>; <b>{_n(facts.get('records_alike_apart', 0))}</b> records are "
                    "identical in every compared field to another customer's.</p>")
    return "".join(said)


def _fmt_weight(w: float) -> str:
    return "∞" if math.isinf(w) else f"{w:+.2f}"


# ---------------------------------------------------------------- blocking

def _blocking(facts: dict, records: int | None) -> str:
    rules = facts.get("blocking_rules") or []
    parts = []
    if rules:
        total = sum(r["comparisons"] for r in rules) or 1
        rows = "".join(
            f'<tr><td class="num">{i}</td><td class="wrap"><code>{_e(r["rule"])}</code></td>'
            f'<td>{_bar(r["comparisons"] / total, 160, "share of comparisons")}</td>'
            f'<td class="num">{r["comparisons"]:,}</td><td class="num">{_pct(r["comparisons"] / total)}</td></tr>'
            for i, r in enumerate(rules, 1))
        parts.append('<table class="blocking"><tr><th class="num">#</th><th>blocking rule</th>'
                     '<th>share</th><th class="num">comparisons</th><th class="num">%</th></tr>'
                     f'{rows}<tr><td></td><td><b>all rules</b></td><td></td>'
                     f'<td class="num"><b>{total:,}</b></td><td></td></tr></table>')
        sample = facts.get("blocking_count_sample", 1.0)
        if sample < 1:
            parts.append(f'<p class="muted">Comparisons estimated from a sample of {_pct(sample)} of the records '
                         f'(pairs scored in parts are counted exactly below {EXACT_COUNT_LIMIT:,.0f}, '
                         'pairs scored at once always).</p>')
        parts.append(_budget(total, records, facts.get("budget_per_record")))
        if facts.get("pairs_to_score") is not None:
            scored_in = facts.get("prediction_parts", 1)
            parts.append(f'<p class="muted">Chosen against the budget on at most {facts["pairs_to_score"]:,} pairs '
                         f'(each rule counted alone); scored in {scored_in:,} part{"s" if scored_in != 1 else ""}.</p>')
    else:
        parts.append('<p class="muted">The link stage recorded no comparison counts for this run.</p>')
    recall = facts.get("estimated_blocking_recall")
    if recall is not None:
        parts.append(f'<p>Estimated recall of blocking: <b>{_pct(recall)}</b> of true matches are '
                     f'compared by some rule {_bar(recall, 160, "estimated blocking recall")}</p>')
    known = set(LinkageFacts.__annotations__)
    other = {k: v for k, v in facts.items() if k not in known}
    if other:
        parts.append('<p class="muted">Other facts linkage recorded:</p><ul class="facts">' + "".join(
            f"<li><b>{_e(k)}</b>: {_e(_fact(v))}</li>" for k, v in other.items()) + "</ul>")
    return "\n".join(parts)


def _fact(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else _text(value)


def _budget(total: int, records: int | None, budget: float | None) -> str:
    if not records:
        return ""
    per = total / records
    text = f"<p>Comparisons per record (all rules ÷ records linked): <b>{per:,.1f}</b>"
    if budget is None:
        return text + ' · <span class="muted">no budget recorded</span></p>'
    verdict = ('<span class="badge ok">within budget</span>' if per <= budget
               else '<span class="badge bad">over budget</span>')
    return (f"{text} against a budget of <b>{budget:,.1f}</b> {verdict} "
            f'{_bar(per / budget if budget else 1, 160, "comparisons per record against the budget")}</p>')


# ---------------------------------------------------------------- the model

def _model(link: Linkage) -> str:
    """Per level: m and u as bars, and the match weight log2(m/u) as a bar either side of zero,
    all on one scale; the prior first, as a weight too."""
    model, records = link.model, link.levels
    estimated = {(c["output_column_name"], i): "m_probability" in level
                 for c in model["comparisons"] for i, level in enumerate(c["comparison_levels"])}
    weights = [r.log2_bayes_factor for r in records if math.isfinite(r.log2_bayes_factor)]
    low, high = min(weights + [-1.0]), max(weights + [1.0])
    prior = records[0].probability_two_random_records_match
    rows = [f'<tr class="prior"><td colspan="2"><b>prior</b>: probability two random records match '
            f'{prior:.3g} (1 in {1 / prior:,.0f}){_reestimated(link.facts)}</td><td></td><td></td>'
            f"<td>{_diverging(records[0].log2_bayes_factor, low, high)}</td>"
            f'<td class="num">{_fmt_weight(records[0].log2_bayes_factor)}</td></tr>']
    groups = [[r for r in records if r.comparison_name == c["output_column_name"]] for c in model["comparisons"]]
    for group in groups:
        for i, r in enumerate(group):
            name = f'<td rowspan="{len(group)}"><b>{_e(r.comparison_name)}</b></td>' if i == 0 else ""
            if r.is_null_level:
                rows.append(f'<tr>{name}<td>{_e(r.label_for_charts)}</td><td class="muted" colspan="3">'
                            'no evidence either way</td><td class="num">0</td></tr>')
                continue
            net = link.facts.get("u_net_of_matches", {}).get(r.comparison_name, {}).get(str(r.comparison_vector_value))
            notes = [n for n, on in (("term-frequency adjusted", r.has_tf_adjustments),
                                     ("m not estimated: Splink's default",
                                      not estimated.get((r.comparison_name, i), True)),
                                     (f"u net of the matches among random pairs: {net or 0:+.2f} bits", net)) if on]
            note = f'<br><span class="muted">{" · ".join(notes)}</span>' if notes else ""
            rows.append(
                f"<tr>{name}<td>{_e(r.label_for_charts)}{note}</td>"
                f"<td>{_probability(r.m_probability, 'm')}</td><td>{_probability(r.u_probability, 'u')}</td>"
                f"<td>{_diverging(r.log2_bayes_factor, low, high)}</td>"
                f'<td class="num">{_fmt_weight(r.log2_bayes_factor)}</td></tr>')
    head = ('<tr><th>comparison</th><th>level</th><th>m (share of matches)</th>'
            '<th>u (share of non-matches)</th><th>match weight log2(m/u)</th><th class="num">weight</th></tr>')
    return f'<table class="model">{head}{"".join(rows)}</table>'


def _guard(facts: dict) -> str:
    """The over-linking guard's measure, and what it did (`scv.strangers`)."""
    share = facts.get("share_linked_strangers")
    if share is None:
        return ""
    expected = facts.get("strangers_expected")
    dropped = facts.get("retrained_without")
    done = (f' The model first trained linked such pairs far more often than it says one person\'s records '
            f'disagree so, so it was retrained without <b>{_e(", ".join(dropped))}</b>, the comparisons a '
            'household shares.' if dropped else "")
    own = (f", where the model's own m says one person's records disagree so {_pct(expected, 2)} of the time "
           f"(many times more means it links households, not people)" if expected is not None else "")
    return (f"<p>Linked pairs that disagree outright on first name and date of birth: <b>{_pct(share)}</b>"
            f"{own}.{done}</p>")


def _em_sessions(sessions: list[EmSession]) -> str:
    """Which EM sessions estimated which comparisons, and which estimates were set aside."""
    if not sessions:
        return ""
    rows = "".join(
        f"<tr><td>{_e(', '.join(s['blocked_on']))}</td>"
        f"<td>{'failed on this data' if s['failed'] else _e(', '.join(s['estimated'])) or '—'}</td>"
        f"<td>{_e(', '.join(s['set_aside'])) or '—'}</td></tr>" for s in sessions)
    return ('<table class="em"><tr><th>EM session blocked on</th><th>m estimated for</th>'
            '<th>set aside as implausible</th></tr>' f"{rows}</table>"
            '<p class="muted">Each m is the median of the estimates that count; a comparison with '
            "none keeps Splink's default.</p>")


def _reestimated(facts: dict) -> str:
    before = facts.get("prior_from_rules")
    if before is None or before == facts.get("prior"):
        return ""
    sample = facts.get("prior_sample", 1.0)
    counted = f" (their pairs counted on {sample:.0%} of the records)" if sample < 1 else ""
    return ('<br><span class="muted">re-estimated from the scored pairs; the deterministic rules gave '
            f"{before:.3g}{counted}</span>")


def _probability(p: float, name: str) -> str:
    return f'{_bar(p, 80, f"{name} probability")}<span class="stats">{p:.3g}</span>'


def _diverging(w: float, low: float, high: float, width: int = 200) -> str:
    def x(v: float) -> float:
        return width * (v - low) / (high - low)

    start, end = sorted((x(0), x(min(max(w, low), high))))  # an infinite weight fills its side
    colour = POSITIVE if w >= 0 else NEGATIVE
    return _svg(width, 12, "match weight", f'<rect width="{width}" height="12" fill="{TRACK}"/>'
                f'<rect x="{start:.1f}" width="{max(end - start, 0.5):.1f}" height="12" fill="{colour}">'
                f"<title>{w:+.3f}</title></rect>"
                f'<line x1="{x(0):.1f}" x2="{x(0):.1f}" y2="12" stroke="{MUTED}"/>')


# ---------------------------------------------------------------- scores and clusters

W, H, LEFT, RIGHT, TOP, BOTTOM = 660, 190, 48, 650, 18, 160  # a column chart's plot area


def bins(weights: pa.ChunkedArray) -> list[tuple[float, float, int]]:
    """(low, high, pairs) of equal-width bins over the weights, a whole number of weight wide."""
    if not len(weights):
        return []
    least, most = pc.min_max(weights).values()
    width = next(s for s in (1, 2, 5, 10, 20, 50) if (most.as_py() - least.as_py()) / s <= 48)
    start = math.floor(least.as_py() / width) * width
    index = pc.floor(pc.divide(pc.subtract(weights, start), float(width))).cast(pa.int64())
    counts = {v["values"]: v["counts"] for v in pc.value_counts(index).to_pylist()}
    return [(start + i * width, start + (i + 1) * width, counts.get(i, 0)) for i in range(max(counts) + 1)]


def _histogram(link: Linkage) -> str:
    found = bins(link.weights)
    if not found:
        return '<p class="muted">No pair was scored at match probability 0.01 or more.</p>'
    cut = None if link.threshold is None else weight(link.threshold)
    bars = [(f"{lo:g}", n, POSITIVE if cut is not None and (lo + hi) / 2 >= cut else BAR,
             f"weight {lo:g} ≤ w &lt; {hi:g}: {n:,} pairs") for lo, hi, n in found]
    marks = []
    if cut is not None:
        span = found[-1][1] - found[0][0]
        at = min(max((cut - found[0][0]) / span, 0), 1) * len(found)
        marks.append((at, f"threshold {link.threshold:g} (weight {_fmt_weight(cut)})"))
    chart = _columns(bars, "match weight histogram", "match weight", marks, edges=True)
    above = link.above_threshold()
    return (f"<figure>{chart}<figcaption>{len(link.weights):,} pairs scored at match probability ≥ 0.01 "
            f"(lower ones are not kept); <b>{_n(above)}</b> at or above the threshold are clustered "
            "(green)</figcaption></figure>")


def size_buckets(clusters: Counter) -> list[tuple[str, int, int]]:
    """(records in a cluster, customers, records) for sizes 1-10, then wider buckets that hold any."""
    top = max(clusters, default=0)
    rows = [(str(s), clusters.get(s, 0), s * clusters.get(s, 0)) for s in range(1, min(top, 10) + 1)]
    for low, high in SIZE_BUCKETS:
        sizes = [s for s in clusters if s >= low and (high is None or s <= high)]
        if sizes:
            label = f"{low:,}+" if high is None else f"{low}–{high}"
            rows.append((label, sum(clusters[s] for s in sizes), sum(s * clusters[s] for s in sizes)))
    return rows


def _clusters(clusters: Counter, largest: tuple[int, str] | None) -> str:
    rows = size_buckets(clusters)
    if not rows:
        return '<p class="muted">gold/customer_xref holds no records.</p>'
    bars = [(label, n, BAR, f"{label} records: {n:,} customers") for label, n, _ in rows]
    chart = _columns(bars, "cluster sizes", "records in a customer's cluster", [])
    records = sum(r for _, _, r in rows)
    table = "".join(f'<tr><td class="num">{label}</td><td class="num">{n:,}</td><td class="num">{r:,}</td>'
                    f'<td class="num">{_pct(r / records)}</td></tr>' for label, n, r in rows)
    callout = ("" if largest is None else
               f'<p>Largest cluster: <b>{largest[0]:,} records</b> (customer <code>{_e(largest[1])}</code>)</p>')
    return (f'{callout}<div class="side"><figure>{chart}</figure><table class="sizes">'
            '<tr><th class="num">size</th><th class="num">customers</th><th class="num">records</th>'
            f'<th class="num">% of records</th></tr>{table}<tr><td></td><td class="num"><b>'
            f'{sum(n for _, n, _ in rows):,}</b></td><td class="num"><b>{records:,}</b></td><td></td></tr>'
            "</table></div>")


def _columns(bars: list[tuple[str, int, str, str]], label: str, axis: str, marks: list[tuple[float, str]],
             edges: bool = False) -> str:
    """A column chart: (tick label, count, colour, title) per column, labelled under its middle or,
    for bins (`edges`), under its left edge; marks at column positions (1.5: the second's middle)."""
    top, step = max(n for _, n, _, _ in bars) or 1, (RIGHT - LEFT) / len(bars)
    every = max(1, math.ceil(len(bars) / 16))  # at most 16 tick labels
    parts = [f'<line x1="{LEFT}" x2="{RIGHT}" y1="{y}" y2="{y}" stroke="{GRID}"/>'
             f'<text x="{LEFT - 6}" y="{y + 4}" font-size="11" text-anchor="end" fill="{MUTED}">{v:,}</text>'
             for v, y in ((0, BOTTOM), (top, TOP))]
    for i, (tick, n, colour, title) in enumerate(bars):
        h = (BOTTOM - TOP) * n / top if n else 0
        parts.append(f'<rect x="{LEFT + i * step + 1:.1f}" y="{BOTTOM - max(h, 1 if n else 0):.1f}" '
                     f'width="{max(step - 2, 1):.1f}" height="{max(h, 1 if n else 0):.1f}" fill="{colour}">'
                     f"<title>{title}</title></rect>")
        if i % every == 0:
            x = LEFT + (i + (0 if edges else 0.5)) * step
            parts.append(f'<text x="{x:.1f}" y="{BOTTOM + 14}" font-size="11" '
                         f'text-anchor="middle" fill="{MUTED}">{_e(tick)}</text>')
    for at, text in marks:
        x = LEFT + at * step
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP - 4}" y2="{BOTTOM}" stroke="#5c6670" '
                     f'stroke-dasharray="4 3"/><text x="{x + 4:.1f}" y="{TOP - 6}" font-size="11" '
                     f'fill="#5c6670">{_e(text)}</text>')
    parts.append(f'<text x="{(LEFT + RIGHT) / 2}" y="{H - 4}" font-size="11" text-anchor="middle" '
                 f'fill="{MUTED}">{_e(axis)}</text>')
    return _svg(W, H, label, "".join(parts))
