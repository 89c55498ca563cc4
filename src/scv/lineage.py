"""Lineage: where each value of a customer's golden record came from.

Reads gold/customer_lineage (written by the golden stage) beside the golden row, so a
steward can answer "where did this address come from?": the source, record and rule of
each field. Personal values appear as their shape unless revealed, as `scv explain` shows them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow.dataset as ds

from scv.errors import ScvError
from scv.golden import LINEAGE_TABLE
from scv.lakehouse import Lakehouse
from scv.pseudonymise import PSEUDONYMISED
from scv.validate import mask


@dataclass(frozen=True)
class FieldLineage:
    field: str
    value: str | None  # as its shape unless revealed
    rule: str  # the rule that chose it, e.g. most_recent, address: most_complete, sql: max(amount)
    source: str | None  # None for an aggregate, or when no record holds a value
    record_key: str | None
    source_record_id: str | None
    contributing_records: int  # 1 for a value taken from a record; the records an aggregate folded


@dataclass(frozen=True)
class Lineage:
    customer_id: str
    golden_table: str
    fields: list[FieldLineage]
    revealed: bool


def lineage(lake: Lakehouse, customer_id: str, view: str | None = None, reveal: bool = False) -> Lineage:
    """The golden record of `customer_id` (in gold/customers, or gold/customers_<view>) field by field."""
    table = f"gold/customers_{view}" if view else "gold/customers"
    if not lake.exists(table) or not lake.exists(LINEAGE_TABLE):
        raise ScvError(f"no {table} with its lineage yet: run `scv run` first"
                       + (" (with the view under golden.views)" if view else ""))
    golden = lake.read(table).to_table(filter=ds.field("customer_id") == customer_id).to_pylist()
    if not golden:
        raise ScvError(f"no customer '{customer_id}' in {table}; customer ids are in gold/customer_xref")
    rows = lake.read(LINEAGE_TABLE).to_table(
        filter=(ds.field("customer_id") == customer_id) & (ds.field("golden_table") == table)).to_pylist()
    by_field = {r["field"]: r for r in rows}
    values = golden[0]
    fields = []
    for name, value in values.items():
        if name not in by_field:
            continue
        r = by_field[name]
        text = None if value is None else str(value)
        if text is not None and not reveal and name in PSEUDONYMISED:
            text = mask(text)
        fields.append(FieldLineage(name, text, r["rule"], r["source"], r["record_key"], r["source_record_id"],
                                   r["contributing_records"]))
    return Lineage(customer_id, table, fields, reveal)
