"""The Spark session scv runs on: the active one (a Databricks notebook or job), or a local one."""

from __future__ import annotations

import logging
import os
import sys
import tempfile

# PySpark logs every SQL error with its message, and Spark's messages can quote row values.
QUIET_LOGGERS = ("SQLQueryContextLogger", "DataFrameQueryContextLogger")


def spark_session(master: str, driver_memory: str, shuffle_partitions: int, conf: dict[str, str]):
    """The active session when there is one, else a local session configured for scv.

    A session scv did not start is used as it is: on Databricks the cluster must have
    Splink's similarity jar installed as a library (see docs/spark.md).
    """
    from pyspark.sql import SparkSession

    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    from splink.backends.spark import similarity_jar_location

    builder = (
        SparkSession.builder.master(master).appName("scv")
        .config("spark.jars", similarity_jar_location())
        .config("spark.driver.memory", driver_memory)
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .config("spark.ui.showConsoleProgress", "false")
        # scv makes no catalog tables; without this Spark leaves spark-warehouse/ in the cwd.
        .config("spark.sql.warehouse.dir", os.path.join(tempfile.gettempdir(), "scv-spark-warehouse"))
    )
    for key, value in conf.items():
        builder = builder.config(key, str(value))
    # Python workers (scv's similarity functions) need this interpreter, which has scv.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = builder.getOrCreate()
    # Executors log failed tasks with the error message, which may quote a value.
    session.sparkContext.setLogLevel("FATAL")
    return session


def native_delta(spark) -> bool:
    """Whether the session writes Delta itself (Databricks, or delta-spark configured)."""
    if "DATABRICKS_RUNTIME_VERSION" in os.environ:
        return True
    try:
        extensions = spark.conf.get("spark.sql.extensions", "") or ""
    except Exception:  # noqa: BLE001 - a locked-down session may refuse to show its conf
        return False
    return "DeltaSparkSessionExtension" in extensions
