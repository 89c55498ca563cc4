"""One hash for Splink's samples on every engine, so training sees the same records.

Splink draws its u sample, its EM sample and its work chunks by hashing record ids with
the engine's own hash (DuckDB's `hash`, Spark's Murmur3), so the two engines train on
different samples once the data outgrows `max_pairs_for_u`, and link slightly
differently. scv gives Splink's dialect a hash both engines compute alike: the first 60
bits of the id's MD5.
"""

from __future__ import annotations

from splink.internals.dialects import DuckDBDialect, SparkDialect

LINK_ID = "_link_id"  # a full run's record number in link_inputs; no attribute starts with _


def by_record_key(col_expression: str) -> str:
    """The id expression with the record's number read as its key: which records a
    sample holds does not depend on how they are numbered (`scv.link.key_by`)."""
    return col_expression.replace(f'"{LINK_ID}"', '"record_key"')


class DuckDBSameSample(DuckDBDialect):
    def hash_function_expression(self, col_expression: str) -> str:
        return f"cast(('0x' || substr(md5(cast({by_record_key(col_expression)} as varchar)), 1, 15)) as bigint)"


class SparkSameSample(SparkDialect):
    def hash_function_expression(self, col_expression: str) -> str:
        return f"cast(conv(substr(md5(cast({col_expression} as string)), 1, 15), 16, 10) as bigint)"


def _hashing_the_key(hash_function_expression):
    def hashed(self, col_expression: str) -> str:
        return hash_function_expression(self, by_record_key(col_expression))
    return hashed


# EM and the prior's count draw their samples through the blocking rule's own dialect
# (Splink's DuckDB one, not the API's): it too hashes the record key, as it did before
# records were numbered. Those samples are each engine's own: at scale the engines'
# EM estimates and first priors differ a little (the prior is calibrated afterwards).
DuckDBDialect.hash_function_expression = _hashing_the_key(DuckDBDialect.hash_function_expression)


def use_engine_neutral_hash(api) -> None:
    """Swap the database API's Splink dialect for one with the shared hash."""
    neutral = {"duckdb": DuckDBSameSample, "spark": SparkSameSample}[api.sql_dialect.sql_dialect_str]
    api.sql_dialect = neutral()
