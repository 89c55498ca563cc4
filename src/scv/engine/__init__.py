"""The engine seam: how stage SQL is executed (DuckDB embedded, Spark distributed).

Stages build SQL once against `Engine` and its `Dialect`; an engine supplies execution,
file reading, Delta writes and Splink's database API. Engines are imported lazily so a
DuckDB run never imports Spark.
"""

from __future__ import annotations

from scv.engine.base import Dialect, Engine
from scv.errors import ConfigError

__all__ = ["Dialect", "Engine", "create_engine"]


def create_engine(name: str, **options) -> Engine:
    if name == "duckdb":
        from scv.engine.duckdb import DuckDBEngine

        return DuckDBEngine(**options)
    if name == "spark":
        try:
            from scv.engine.spark import SparkEngine
        except ImportError:
            raise ConfigError(
                "engine: spark needs pyspark; install it with `pip install 'scv[spark]'`"
            ) from None
        return SparkEngine(**options)
    raise ConfigError(f"engine: '{name}' is not available; use 'duckdb' or 'spark'")
