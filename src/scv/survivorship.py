"""Survivorship: which record's value each golden field keeps, as set-based SQL.

A ranking rule orders a customer's records (`row_number` over the customer, always
ending in record_key, so ties break the same way on every engine) and the field takes
the first value in that order; an empty value never wins, and within the order a valid
value (no `<field>_invalid` flag) comes before an invalid one, an email of a suppressed
record after any other. An aggregate rule (min, max, sum, count, list_distinct, or a SQL
expression) folds every record's value. The address fields survive together: all of them
come from one record, so a golden address is never stitched from two.

`survive` builds the engine table of one golden view and its lineage (which record,
and which rule, each value came from).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scv.config import ADDRESS, ADDRESS_FIELDS, AGGREGATE_RULES, NAME_FIELDS
from scv.errors import ConfigError

if TYPE_CHECKING:
    from scv.engine import Engine

# The defaults (README, "Golden records"); attributes not listed here are most_complete.
DEFAULT_RULES: dict[str, Any] = {
    **{f: "most_complete" for f in (*NAME_FIELDS, "name_title", "name_suffix")},
    ADDRESS: "most_complete",
    "date_of_birth": "most_frequent",
    "gender": "most_recent",
    "email": "most_recent",
    "phone": "most_recent",
    "created_at": "earliest",
    "updated_at": "max",
}
SUPPRESSION_ATTRIBUTES = ("donotemail", "do_not_email", "email_bounced", "bounced", "unsubscribed",
                          "email_unsubscribed", "email_opt_out")
TIER_STRIDE = 2**32  # more than any customer's records: a later tier's first record ranks after all of an earlier's
RECENT = ("_recency desc nulls last", "_completeness desc", "record_key")
MOST_COMPLETE = ("_completeness desc", "_recency desc nulls last", "record_key")
# the ranks scv.golden.rank_records gives every record within its customer, by these orders
RECORD_RANKS = {MOST_COMPLETE: "_rank", RECENT: "_recent_rank"}
# what the ranking rules order a customer's records by (scv.golden.rank_records)
RANKED_BY = ("record_key", "customer_id", "source", "_completeness", "_address_completeness", "_recency", "_first_seen")


@dataclass(frozen=True)
class Rule:
    name: str  # a rule name of scv.config.RULE_NAMES
    sources: tuple[str, ...] = ()  # source_priority
    sql: str | None = None  # sql

    @classmethod
    def of(cls, raw: Any) -> Rule:
        """A rule as scv.config.check_rule accepted it."""
        if isinstance(raw, str):
            return cls(raw)
        [(kind, value)] = raw.items()
        return cls(kind, tuple(value)) if kind == "source_priority" else cls(kind, sql=value)

    @property
    def aggregate(self) -> bool:
        return self.name in (*AGGREGATE_RULES, "sql")

    @property
    def label(self) -> str:
        """As gold/customer_lineage names it."""
        if self.sources:
            return f"source_priority: {', '.join(self.sources)}"
        return f"sql: {self.sql}" if self.sql else self.name


@dataclass(frozen=True)
class View:
    """One golden table: where it goes, which records take part, each field's rule."""

    table: str  # engine table, also the gold table's name (customers, customers_members)
    filter: str | None  # SQL condition from scv.yaml, or None for every record
    rules: dict[str, Rule]  # field -> rule, for fields surviving on their own
    address: Rule | None  # the rule of the address fields surviving together, if any
    address_fields: tuple[str, ...]


def plan(table: str, fields: list[str], filter: str | None, *layers: dict[str, Any]) -> View:
    """Each field's rule: the first layer naming it (a view's rules, then golden.rules),
    else the default. Address fields no layer names survive together."""
    named = {f for layer in layers for f in layer}

    def rule(field: str) -> Rule:
        for layer in (*layers, DEFAULT_RULES):
            if field in layer:
                return Rule.of(layer[field])
        return Rule("most_complete")

    together = tuple(f for f in fields if f in ADDRESS_FIELDS and f not in named)
    alone = {f: rule(f) for f in fields if f not in together}
    return View(table, filter, alone, rule(ADDRESS) if together else None, together)


def condition(sql: str) -> str:
    """A condition from scv.yaml as a boolean, never null: a text column holding true/false
    reads as its truth value on both engines."""
    return f"coalesce(try_cast(({sql}) as boolean), false)"


def suppression(engine: Engine, setting: str | None, table: str) -> str:
    """The SQL for 'this record's email is suppressed'."""
    if setting is not None:
        return condition(setting)
    columns = [c for c, _ in engine.columns(table)]
    flags = [condition(engine.dialect.quote(c)) for c in SUPPRESSION_ATTRIBUTES if c in columns]
    return " or ".join(flags) or "false"


def check_sql(engine: Engine, where: str, sql: str, table: str, aggregate: bool) -> None:
    """Run a SQL expression from scv.yaml over no rows: a mistake names its key, not a value."""
    select = f"customer_id, {sql}" if aggregate else condition(sql)
    group = " group by customer_id" if aggregate else ""
    try:
        engine.rows(f"select {select} from {engine.dialect.quote(table)} where 1 = 0{group}")
    except Exception as err:  # noqa: BLE001 - over no rows, the message quotes names only
        first = str(err).strip().splitlines()[0][:300] if str(err).strip() else type(err).__name__
        kind = "an aggregate of a customer's records" if aggregate else "a condition on a record"
        raise ConfigError(f"{where}: '{sql}' does not run as {kind} (SQL over silver/records' "
                          f"columns): {first}; fix it in scv.yaml") from None


def _ordering(engine: Engine, rule: Rule, field: str | None) -> tuple[str, ...]:
    """ORDER BY terms ranking a customer's records under a ranking rule, best first."""
    d = engine.dialect
    if rule.name == "most_complete":
        first = ("_address_completeness desc",) if field is None else ()
        return (*first, *MOST_COMPLETE)
    if rule.name in ("most_recent", "latest_non_null"):
        return RECENT
    if rule.name == "earliest":
        return ("_first_seen asc nulls last", "_completeness desc", "record_key")
    if rule.name == "source_priority":
        whens = " ".join(f"when {d.literal(s)} then {i}" for i, s in enumerate(rule.sources))
        return (f"case source {whens} else {len(rule.sources)} end", *RECENT)
    if rule.name == "most_frequent":
        return (f"{d.quote('_frequency_' + field)} desc", *RECENT)
    if rule.name == "longest":
        return (f"length(cast({d.quote(field)} as string)) desc nulls last", *RECENT)
    raise ValueError(f"not a ranking rule: {rule.name}")


def _aggregate(engine: Engine, rule: Rule, field: str, numeric: bool) -> tuple[str, str]:
    """(value, records contributing) of an aggregate rule."""
    q = engine.dialect.quote(field)
    if rule.name == "sql":
        return f"({rule.sql})", "count(*)"
    if rule.name == "list_distinct":
        return engine.dialect.sorted_set(q), f"count({q})"
    if rule.name == "sum" and not numeric:  # text read from CSV: the numbers in it
        return f"sum(try_cast({q} as decimal(38, 6)))", f"count({q})"
    return f"{rule.name}({q})", f"count({q})"


def _first(column: str, ordinal: str, present: str, tiers: list[str]) -> str:
    """The column of the first record in `ordinal` order where `present`, from the first
    tier of preference that has one: the same record for every column taken with the same
    arguments. One aggregate whatever the tiers: the tier is folded into the order (each
    tier after the first adds TIER_STRIDE): an aggregate a tier under a coalesce made the
    survivorship query about a third slower."""
    if len(tiers) == 1:
        return f"min_by({column}, {ordinal}) filter (where {present} and {tiers[0]})"
    tier = f"case {' '.join(f'when {t} then {i}' for i, t in enumerate(tiers[:-1]))} else {len(tiers) - 1} end"
    return f"min_by({column}, {ordinal} + {tier} * {TIER_STRIDE}) filter (where {present} and {tiers[-1]})"


def _tiers(q, columns: set[str], field: str) -> list[str]:
    """Preference within a ranking: a valid value first, an unsuppressed email first."""
    tiers = ["true"]
    if f"{field}_invalid" in columns:
        tiers.insert(0, f"not coalesce({q(field + '_invalid')}, false)")
    if field == "email":
        tiers = [f"{t} and not _suppressed" if t != "true" else "not _suppressed" for t in tiers] + tiers
    return list(dict.fromkeys(tiers))


def part_of(customer_id: str, parts: int) -> str:
    """Which of `parts` a customer falls in, from the last two characters of its id (hex
    for scv's ids): the same on every engine."""
    return (f"((ascii(substr({customer_id}, length({customer_id}), 1)) * 31"
            f" + ascii(substr({customer_id}, length({customer_id}) - 1, 1))) % {int(parts)})")


def survive(engine: Engine, view: View, records: str, flags: dict[str, str], parts: int = 1) -> str:
    """Engine table `<view.table>`, one golden row per customer; returns the SQL of its
    lineage rows, which reads engine table `<view.table>_chosen` (drop it once they are read).

    `records` holds the customers' silver records with customer_id and the ranking columns
    of scv.golden.rank_records; only those meeting the view's filter take part. Each step
    is one query, as a Spark engine table costs a write, or one per part of the customers
    when there are many: the aggregate holds every customer's state at once, and DuckDB
    cannot spill the text min_by keeps (6 million customers need more than 4 GB).
    """
    d, q = engine.dialect, engine.dialect.quote
    types = dict(engine.columns(records))
    columns = set(types)
    fields = [*view.rules, *view.address_fields]
    keep = condition(view.filter) if view.filter else "true"
    # a view of every record can use the ranks the records carry; a filtered one ranks its own
    ranks = {} if view.filter else {o: c for o, c in RECORD_RANKS.items() if c in columns}
    orderings: dict[tuple[str, ...], str] = dict(ranks)
    frequencies = []
    for field, rule in view.rules.items():
        if rule.name == "most_frequent":
            frequencies.append(f"count(*) over (partition by customer_id, {q(field)}) as {q('_frequency_' + field)}")
        if not rule.aggregate:
            orderings.setdefault(_ordering(engine, rule, field), f"_ordinal_{len(orderings)}")
    if view.address:
        address_order = _ordering(engine, view.address, None)
        orderings.setdefault(address_order, f"_ordinal_{len(orderings)}")
    ordinals = [f"row_number() over (partition by customer_id order by {', '.join(o)}) as {name}"
                for o, name in orderings.items() if o not in ranks]
    # A customer of one record is that record: its row is a projection, not an aggregate
    # (the group-by's state is the cost of golden). Folding rules other than min and max
    # have no projection that matches their type on both engines: then every customer folds.
    alone = all(rule.name in ("min", "max") for rule in view.rules.values() if rule.aggregate)
    selected, single, lineage = [], [], []
    for field, rule in view.rules.items():
        f, key, n = q(field), q(field + "__key"), q(field + "__n")
        if rule.aggregate:
            value, count = _aggregate(engine, rule, field, _numeric(types[field]))
            selected += [f"{value} as {f}", f"{count} as {n}"]
            single += [f"{f} as {f}", f"cast(case when {f} is null then 0 else 1 end as bigint) as {n}"]
            lineage.append((field, rule.label, None, n))
            continue
        ordinal = orderings[_ordering(engine, rule, field)]
        tiers = _tiers(q, columns, field)
        present = f"{f} is not null"
        selected += [f"{_first(f, ordinal, present, tiers)} as {f}",
                     f"{_first('record_key', ordinal, present, tiers)} as {key}"]
        single += [f"{f} as {f}", f"case when {present} then record_key end as {key}"]
        lineage.append((field, rule.label, key, None))
    if view.address:
        ordinal = orderings[address_order]
        present = "(" + " or ".join(f"{q(a)} is not null" for a in view.address_fields) + ")"
        invalid = [f"coalesce({q(a + '_invalid')}, false)" for a in view.address_fields if a + "_invalid" in columns]
        tiers = [f"not ({' or '.join(invalid)})", "true"] if invalid else ["true"]
        selected.append(f"{_first('record_key', ordinal, present, tiers)} as _address__key")
        single.append(f"case when {present} then record_key end as _address__key")
        label = f"{ADDRESS}: {view.address.label}"
        lineage += [(a, label, "_address__key", None) for a in view.address_fields]
    customer_flags = [f"bool_or({condition(sql)}) as {q(name)}" for name, sql in flags.items()]
    record_flags = [f"{condition(sql)} as {q(name)}" for name, sql in flags.items()]
    chosen = f"{view.table}_chosen"

    # the windows run over the columns they read only, then join the records: a window
    # holds every column of its input, and silver is wide
    read = [c for c in (*RANKED_BY, *(f for f, r in view.rules.items() if r.name in ("longest", "most_frequent")))
            if c in columns]
    narrow = f"(select {', '.join(q(c) for c in dict.fromkeys(read))} from {q(records)} where {keep}) n"
    counted = f"(select *, {', '.join(frequencies)} from {narrow}) x" if frequencies else narrow
    part = f", {part_of('customer_id', parts)} as _part" if parts > 1 else ""
    engine.create(f"{chosen}_order", f"""select record_key as _ranked_key{part},
        count(*) over (partition by customer_id) as _records, {', '.join(ordinals) or '1 as _ordinal'}
        from {counted}""")

    def ranked(where: str) -> str:
        """The records joined to their ranks, of the ranks meeting `where`: the condition
        is tested on the narrow ranks, not on every wide record."""
        return (f"(select * from {q(records)} where {keep}) r "
                f"join (select * from {q(chosen + '_order')} where {where}) o on o._ranked_key = r.record_key")

    folded = "_records > 1" if alone else "true"  # the customers the aggregate builds

    def aggregate(source: str) -> str:
        """One golden row per customer in `source`, ranked records."""
        return f"""select customer_id, {', '.join(selected)},
                count(*) as record_count, {d.sorted_set('source')} as sources,
                min(created_at) as first_seen, max(_recency) as last_updated,
                bool_or(_needs_review) as needs_review, max(_review_reason) as review_reason
                {''.join(', ' + c for c in customer_flags)}
            from {source} group by customer_id"""

    singles = [] if not alone else [f"""select customer_id, {', '.join(single)},
            cast(1 as bigint) as record_count, {d.one_element_set('source')} as sources,
            created_at as first_seen, _recency as last_updated,
            _needs_review as needs_review, _review_reason as review_reason
            {''.join(', ' + c for c in record_flags)}
        from {ranked("_records = 1")}"""]
    if parts <= 1:
        engine.create(chosen, " union all ".join([aggregate(ranked(folded)), *singles]))
    else:  # the records to fold, joined to their ranks once, not once a part
        several = f"{chosen}_several"
        engine.create(several, f"select * from {ranked(folded)}")
        for i in range(parts):
            engine.create(f"{chosen}_{i}", aggregate(f"(select * from {q(several)} where _part = {i}) r"))
        engine.drop(several)
        engine.create(chosen, " union all ".join(
            [*(f"select * from {q(f'{chosen}_{i}')}" for i in range(parts)), *singles]))
        for i in range(parts):
            engine.drop(f"{chosen}_{i}")
    engine.drop(f"{chosen}_order")

    order = [c for c in types if c in fields]  # silver's column order, as before
    values = [f"a.{q(c)}" if c in view.address_fields else f"c.{q(c)}" for c in order]
    meta = ["record_count", "sources", "first_seen", "last_updated", "needs_review", "review_reason", *flags]
    join = f"left join {q(records)} a on a.record_key = c._address__key" if view.address else ""
    engine.create(view.table, f"""select c.customer_id, {', '.join(values)}, {', '.join('c.' + q(m) for m in meta)}
        from {q(chosen)} c {join}""")
    return _lineage(engine, view, chosen, lineage)


def _lineage(engine: Engine, view: View, chosen: str, lineage: list) -> str:
    """Per customer and field: the record the value came from (none for an aggregate, with
    the number of records it folded) and the rule. One scan of `chosen`, crossed with the
    fields (a union of a query per field costs Spark a job each)."""
    d, q = engine.dialect, engine.dialect.quote
    fields = ", ".join(f"({d.literal(field)}, {d.literal(label)})" for field, label, _, _ in lineage)
    keys = " ".join(f"when {d.literal(field)} then c.{key}" for field, _, key, _ in lineage if key)
    counts = " ".join(f"when {d.literal(field)} then c.{n}" if n else
                      f"when {d.literal(field)} then case when c.{key} is null then 0 else 1 end"
                      for field, _, key, n in lineage)
    return f"""select {d.literal('gold/' + view.table)} as golden_table, c.customer_id, f.field, f.rule,
                      {f"case f.field {keys} end" if keys else "cast(null as string)"} as record_key,
                      cast(case f.field {counts} end as bigint) as contributing_records
               from {q(chosen)} c cross join (values {fields}) as f(field, rule)"""


def _numeric(type_name: str) -> bool:
    t = type_name.lower()
    return any(k in t for k in ("int", "decimal", "double", "float", "real", "numeric", "long", "short", "byte"))
