"""The Python API the CLI wraps: `Project.load("scv.yaml").run()` from a notebook too."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from scv.config import ProjectConfig, did_you_mean, load_config
from scv.curve_chart import write_chart
from scv.curves import Curve, threshold_curve
from scv.engine import Engine, create_engine
from scv.erasure import Identifier, Receipt, forget
from scv.errors import ConfigError, ScvError
from scv.explain import Explanation, explain
from scv.evaluate import LabelScores, Scores, open_file, read_labels, score, score_labels
from scv.lakehouse import Lakehouse, TableInfo, is_uri
from scv.lineage import Lineage, lineage
from scv.pipeline import CHECK_STAGES, Progress, Run, RunResult, execute

TRUTH_COLUMNS = ("source", "source_record_id", "person_id")


@dataclass(frozen=True)
class Status:
    lakehouse: Path
    tables: list[TableInfo]
    last_run: dict | None


class Project:
    def __init__(self, config: ProjectConfig, base_dir: str | Path = "."):
        self.config = config
        self.base_dir = Path(base_dir).resolve()

    @classmethod
    def load(cls, path: str | Path = "scv.yaml", engine: str | None = None) -> Project:
        """`engine` overrides the project file's (`scv run --engine spark`)."""
        config, base_dir = load_config(path)
        if engine is not None and engine != config.engine:
            config = ProjectConfig.model_validate(config.model_dump() | {"engine": engine})
        return cls(config, base_dir)

    @property
    def lakehouse(self) -> Lakehouse:
        options = {k: os.path.expandvars(v) for k, v in self.config.storage_options.items()}
        if is_uri(self.config.lakehouse):
            return Lakehouse(self.config.lakehouse, options)
        root = Path(self.config.lakehouse)
        return Lakehouse(root if root.is_absolute() else self.base_dir / root, options)

    def engine(self) -> Engine:
        if self.config.engine == "spark":
            work = self.lakehouse.path("_spark")
            return create_engine("spark", work_dir=work, **self.config.spark.model_dump())
        options = self.config.duckdb.model_dump()
        temp = options.pop("temp_directory") or Path(tempfile.gettempdir()) / "scv-spill"
        return create_engine(self.config.engine, temp_directory=temp, **options)

    def run(self, progress: Progress | None = None, full: bool = False) -> RunResult:
        """Ingest, validate, standardise, link and publish golden records: incrementally
        when the last run allows it (`scv.increment`), from scratch with `full`."""
        return self._execute(None, progress, full)

    def validate(self, progress: Progress | None = None) -> RunResult:
        """Ingest, profile and validate only; silver and gold are left as they are."""
        return self._execute(CHECK_STAGES, progress)

    def _execute(self, stages, progress: Progress | None, full: bool = False) -> RunResult:
        engine = self.engine()
        try:
            return execute(Run(self.config, self.base_dir, self.lakehouse, engine, full=full), progress, stages)
        finally:
            engine.close()

    def status(self) -> Status:
        lake = self.lakehouse
        tables = [lake.info(t) for t in lake.tables()]
        last = None
        if lake.exists("audit/runs"):
            runs = lake.read_table("audit/runs").sort_by([("started_at", "descending")])
            if runs.num_rows:
                last = runs.slice(0, 1).to_pylist()[0]
                for key in ("per_source", "stage_seconds", "warnings"):
                    last[key] = json.loads(last[key]) if last.get(key) else None
        return Status(lake.root, tables, last)

    def forget(self, *, email: str | None = None, phone: str | None = None, source: str | None = None,
               id: str | None = None, customer_id: str | None = None, dry_run: bool = False) -> Receipt:
        """Erase a person (by one identifier) and their whole customer cluster from the lakehouse.

        A dry run counts what would go and changes nothing. See `scv.erasure`."""
        who = Identifier(email=email, phone=phone, source=source, record_id=id, customer_id=customer_id)
        return forget(self.lakehouse, self.config, self.base_dir, who, dry_run=dry_run)

    def evaluate(self, truth: str | Path | None = None, labels: str | Path | None = None) -> Scores | LabelScores:
        """Score gold/customer_xref against a truth file, the configured truth column, or
        clerical labels (pairs judged 0/1 or by a probability; see `scv.evaluate.read_labels`)."""
        _one_of(truth, labels)
        judged = read_labels(labels, list(self.config.sources)) if labels is not None else None
        xref = self._xref().select(["record_key", "customer_id"])
        predicted = xref.rename_columns(["record_key", "cluster"])
        if judged is not None:
            return score_labels(predicted, judged)
        return score(predicted, self._truth(truth))

    def curve(self, truth: str | Path | None = None, labels: str | Path | None = None,
              chart: str | Path | None = None) -> Curve:
        """Precision and recall of the scored pairs (silver/pairs) against the match threshold,
        the F1-best threshold and the configured one; `chart` writes them as an HTML file."""
        _one_of(truth, labels)
        judge = ({"labels": read_labels(labels, list(self.config.sources))} if labels is not None
                 else {"truth": self._truth(truth)})
        xref = self._xref()
        if not self.lakehouse.exists("silver/pairs"):
            raise ScvError("no silver/pairs yet: run `scv run` first")
        result = threshold_curve(self.lakehouse.read("silver/pairs"), xref,
                                 configured=self._last_threshold(), **judge)
        if chart is not None:
            write_chart(result, chart)
        return result

    def _xref(self) -> pa.Table:
        if not self.lakehouse.exists("gold/customer_xref"):
            raise ScvError("no gold/customer_xref yet: run `scv run` first")
        return self.lakehouse.read_table("gold/customer_xref")

    def explain(self, record_key_a: str, record_key_b: str, *, reveal: bool = False) -> Explanation:
        """Why two records were or were not linked: the pair scored again with the last run's
        model, weight by weight. Personal values appear as their shape unless `reveal`."""
        return explain(self, record_key_a, record_key_b, reveal=reveal)

    def lineage(self, customer_id: str, *, view: str | None = None, reveal: bool = False) -> Lineage:
        """Where each value of a customer's golden record came from: source, record and rule
        (gold/customer_lineage). `view` reads gold/customers_<view>; values are shapes unless `reveal`."""
        if view is not None and view not in self.config.golden.views:
            views = list(self.config.golden.views)
            raise ConfigError(f"--view: '{view}' is not under golden.views{did_you_mean(view, views)}"
                              + (f"; views: {', '.join(views)}" if views else "; scv.yaml defines none"))
        return lineage(self.lakehouse, customer_id, view, reveal)

    def _last_threshold(self) -> float:
        """The threshold the last linking run clustered at."""
        from scv.explain import _last_model, run_threshold

        return run_threshold(self.lakehouse, _last_model(self.lakehouse)[0])

    def _truth(self, truth: str | Path | None) -> pa.Table:
        if truth is not None:
            return read_truth_file(truth)
        column = self.config.evaluation.truth_column
        if not column:
            raise ConfigError(
                "no truth given: pass --truth FILE (columns source, source_record_id, "
                "person_id) or set evaluation.truth_column in scv.yaml"
            )
        parts = []
        for name in self.config.sources:
            bronze = self.lakehouse.read(f"bronze/{name}")
            if column in bronze.schema.names:
                t = bronze.to_table(columns=["_record_id", column])
                keys = pc.binary_join_element_wise(pa.scalar(f"{name}:"), t["_record_id"], "")
                parts.append(pa.table({"record_key": keys, "entity": pc.cast(t[column], pa.string())}))
        if not parts:
            raise ConfigError(f"evaluation.truth_column: no source has a column '{column}'")
        return pa.concat_tables(parts)


def _one_of(truth, labels) -> None:
    if truth is not None and labels is not None:
        raise ConfigError("give --truth or --labels, not both")


def read_truth_file(path: str | Path) -> pa.Table:
    con, rel = open_file("--truth", path)
    missing = [c for c in TRUTH_COLUMNS if c not in rel.columns]
    if missing:
        raise ConfigError(
            f"--truth {path}: missing column(s) {', '.join(missing)}; "
            f"a truth file has columns {', '.join(TRUTH_COLUMNS)}"
        )
    table = con.sql(
        """select concat(cast(source as varchar), ':', cast(source_record_id as varchar)) as record_key,
                  cast(person_id as varchar) as entity from rel"""
    ).to_arrow_table()
    con.close()
    return table
