"""Pairs at the levels a trained model gives them, evaluated by Splink's own case
statements: what scv's checks of a model count (`scv.strangers`, `scv.households`), read
as the model reads the records, with no second copy of its comparisons' rules."""

from __future__ import annotations


def levels_sql(comparisons: list, pairs_sql: str, key_l: str = "record_key_l", key_r: str = "record_key_r",
               where: str = "true") -> str:
    """SQL: the pairs of `pairs_sql` (keys `key_l`, `key_r` into link_inputs) with their
    level (gamma column) of each comparison; `where` may read both records as l and r."""
    columns = sorted({col.input_name for c in comparisons for col in c._input_columns_used_by_case_statement})
    sides = ", ".join(f"l.{c} as {c}_l, r.{c} as {c}_r" for c in columns)
    return f"""
        select {key_l}, {key_r}, {', '.join(c._case_statement for c in comparisons)}
        from (select h.{key_l}, h.{key_r}, {sides}
              from ({pairs_sql}) h join link_inputs l on l.record_key = h.{key_l}
                                   join link_inputs r on r.record_key = h.{key_r}
              where {where}) sides"""


def gammas(comparisons: list) -> str:
    """SQL: the comparisons' level columns, comma-separated."""
    return ", ".join(c._gamma_column_name for c in comparisons)
