"""The `scv` command: a thin layer over `scv.Project` and friends.

Errors raised on purpose become one red line and an exit code (2 for a project file
or input that must be fixed, 1 for a failed run); `--debug` shows the traceback.
"""

from __future__ import annotations

import enum
import functools
import json
import logging
import time
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from scv.assessment import VERDICT
from scv.errors import ScvError, StageFailed

app = typer.Typer(
    help="Single customer view: link customer records from many systems into golden records.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()


class Engine(str, enum.Enum):
    duckdb = "duckdb"
    spark = "spark"

err_console = Console(stderr=True)

ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="Project file.", show_default=True)
]
DebugOption = Annotated[bool, typer.Option("--debug", help="Show tracebacks and library logs.")]
EngineOption = Annotated[
    Engine | None, typer.Option("--engine", help="Run on this engine instead of the project file's.")
]


def _friendly(command):
    """Turn scv's own errors into one line and an exit code."""

    @functools.wraps(command)
    def wrapper(*args, debug: bool = False, **kwargs):
        logging.basicConfig(level=logging.INFO if debug else logging.WARNING, format="%(message)s")
        if not debug:
            logging.getLogger("splink").setLevel(logging.ERROR)
        try:
            return command(*args, **kwargs)
        except ScvError as err:
            if debug:
                raise
            err_console.print(f"[bold red]error:[/] {err}", highlight=False, soft_wrap=True)
            raise typer.Exit(err.exit_code) from None

    return wrapper


def _run_with_progress(project, full: bool = False):
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
        console=err_console, transient=False,
    ) as bar:
        tasks = {}

        def on_stage(stage: str, state: str):
            if state == "start":
                tasks[stage] = bar.add_task(stage, total=1)
            else:
                bar.update(tasks[stage], completed=1)

        return project.run(progress=on_stage, full=full)


def _print_run(result) -> None:
    table = Table(title=f"{result.mode} run {result.run_id} on {result.engine}: {result.status} "
                        f"in {result.seconds:.1f} s")
    for col in ("source", "ingested", "quarantined", "silver"):
        table.add_column(col, justify="left" if col == "source" else "right")
    events = {s: c for s, c in result.per_source.items() if s in result.event_sources}
    for source, c in result.per_source.items():
        if source not in events:
            table.add_row(source, *(f"{c.get(k, 0):,}" for k in ("ingested", "quarantined", "silver")))
    table.add_row("[bold]total", f"{result.ingested:,}", f"{result.quarantined:,}", f"{result.silver:,}")
    for source, c in events.items():  # events, not records: after the records' total
        table.add_row(f"{source} (events)", *(f"{c.get(k, 0):,}" for k in ("ingested", "quarantined", "silver")))
    console.print(table)
    console.print(
        f"{result.pairs:,} scored pairs, [bold]{result.customers:,} customers[/] "
        f"in {result.lakehouse}/gold/customers"
    )
    _print_warnings(result)


def _print_warnings(result) -> None:
    """A run's warnings, its report's path, then the linkage verdict: said last, in plain words."""
    verdict = [w for w in result.warnings if w.startswith(VERDICT)]
    for warning in result.warnings:
        if warning not in verdict:
            console.print(f"[yellow]warning:[/] {warning}")
    console.print(f"data quality report: {result.lakehouse}/reports/{result.run_id}/quality.html")
    for warning in verdict:
        console.print(f"[bold red]{warning}[/]")


def _print_segments(project) -> None:
    """Customers per RFM segment of gold/customer_metrics, when the project has events."""
    from collections import Counter

    from scv.metrics import GOLD_METRICS, RFM_SEGMENTS

    if not project.config.event_sources or not project.lakehouse.exists(GOLD_METRICS):
        return
    metrics = project.lakehouse.read(GOLD_METRICS).to_table(columns=["rfm_segment", "total_amount"])
    segments = Counter(metrics["rfm_segment"].to_pylist())
    table = Table(title=f"customer metrics ({GOLD_METRICS})")
    table.add_column("RFM segment")
    table.add_column("customers", justify="right")
    for name in [s for s, *_ in RFM_SEGMENTS] + [None]:
        table.add_row(name or "no events", f"{segments.get(name, 0):,}")
    console.print(table)


def _print_scores(scores) -> None:
    table = Table(title="linkage against the truth")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key in ("records", "clusters", "true_entities"):
        table.add_row(key.replace("_", " "), f"{getattr(scores, key):,}")
    for key in ("precision", "recall", "f1", "bcubed_precision", "bcubed_recall", "bcubed_f1"):
        table.add_row(f"pairwise {key}" if "bcubed" not in key else key.replace("_", " "),
                      f"{getattr(scores, key):.4f}")
    console.print(table)


@app.command()
@_friendly
def run(
    config: ConfigOption = Path("scv.yaml"),
    engine: EngineOption = None,
    full: Annotated[bool, typer.Option(
        "--full", help="Rebuild from scratch and train a new model, even if only a few records changed.")] = False,
    debug: DebugOption = False,
):
    """Run the pipeline: ingest, validate, standardise, link, golden records.

    Incremental when the last run allows it: only new and changed records are standardised
    and linked (with the last run's model)."""
    from scv.project import Project

    project = Project.load(config, engine=engine and engine.value)
    try:
        _print_run(_run_with_progress(project, full))
    except StageFailed as failure:
        err_console.print(f"data quality report: {project.lakehouse.root}/reports/{failure.run_id}/quality.html")
        raise


@app.command()
@_friendly
def init(
    directory: Annotated[Path, typer.Argument(help="Folder for the new project.")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing scv.yaml.")] = False,
    debug: DebugOption = False,
):
    """Create a starter project: a commented scv.yaml and sample sources."""
    from scv.demo import write_project

    config, data = write_project(directory, people=300, overwrite=force)
    console.print(f"created {config} with {sum(data.records_per_source.values())} sample records "
                  f"in {data.out_dir}")
    console.print(f"next: [bold]scv run --config {config}[/]")


@app.command()
@_friendly
def generate(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the generated files.")],
    people: Annotated[int, typer.Option(help="Number of real people behind the records.", min=1)] = 10_000,
    records: Annotated[int | None, typer.Option(
        help="About this many customer records instead (people = records / 1.625).", min=1)] = None,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same files.")] = 42,
    debug: DebugOption = False,
):
    """Generate multi-source demo customer data with ground truth (truth.csv)."""
    from scv.generate import RECORDS_PER_PERSON
    from scv.generate import generate as make

    if records is not None:
        people = max(1, round(records / RECORDS_PER_PERSON))
    data = make(out, people=people, seed=seed)
    records = sum(data.records_per_source.values())
    console.print(
        f"{records:,} records of {people:,} people ({data.orders:,} orders) in {data.out_dir} "
        f"in {data.seconds:.1f} s ({records / max(data.seconds, 1e-9):,.0f} records/s); "
        f"truth in {data.truth_path}"
    )


@app.command()
@_friendly
def demo(
    directory: Annotated[Path, typer.Option("--dir", help="Folder for the demo project.")] = Path("scv-demo"),
    people: Annotated[int, typer.Option(help="Number of people to generate.", min=2)] = 10_000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 42,
    engine: EngineOption = None,
    debug: DebugOption = False,
):
    """Generate demo data, run the pipeline on it and score the result."""
    from scv.demo import write_project
    from scv.project import Project

    started = time.perf_counter()
    config, data = write_project(directory, people=people, seed=seed, overwrite=True)
    console.print(f"generated {sum(data.records_per_source.values()):,} records of {people:,} people "
                  f"in {data.out_dir}")
    project = Project.load(config, engine=engine and engine.value)
    result = _run_with_progress(project)
    _print_run(result)
    scores = project.evaluate(data.truth_path)
    _print_scores(scores)
    _print_segments(project)
    console.print(
        f"found {result.customers:,} customers for {people:,} real people; "
        f"pairwise F1 {scores.f1:.3f}; demo took {time.perf_counter() - started:.1f} s"
    )
    console.print(f"tables: {result.lakehouse}  (try: scv status --config {config})")


@app.command()
@_friendly
def evaluate(
    config: ConfigOption = Path("scv.yaml"),
    truth: Annotated[Path | None, typer.Option(help="CSV/Parquet with source, source_record_id, person_id.")] = None,
    labels: Annotated[Path | None, typer.Option(
        help="CSV/Parquet of clerically labelled pairs (Splink's format): source_dataset_l, unique_id_l, "
             "source_dataset_r, unique_id_r, clerical_match_score. The score is 0/1 or a probability "
             "(>= 0.5 is a match). Other source names than the project's are allowed with one source.")] = None,
    curve: Annotated[bool, typer.Option(
        "--curve", help="Also judge the scored pairs (silver/pairs, before clustering) at thresholds "
                        "0.01..0.99 and by match weight: precision, recall, the F1-best threshold.")] = False,
    chart: Annotated[Path | None, typer.Option(
        help="Write the precision/recall-against-threshold chart to this HTML file (offline, no scripts).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the scores (and the curve) as JSON.")] = False,
    debug: DebugOption = False,
):
    """Score the customer clusters against the truth (pairwise and B-cubed) or clerical labels."""
    from scv.project import Project

    project = Project.load(config)
    scores = project.evaluate(truth=truth, labels=labels)
    found = project.curve(truth=truth, labels=labels, chart=chart) if curve or chart else None
    if as_json:
        console.print_json(json.dumps(scores.as_dict() | ({"curve": found.as_dict()} if found else {})))
        return
    if labels is not None:
        _print_label_scores(scores)
    else:
        _print_scores(scores)
    if found and curve:
        _print_curve(found)
    if chart:
        console.print(f"chart: {chart}")


def _print_label_scores(scores) -> None:
    table = Table(title="clusters against clerical labels")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key in ("labels", "labelled_matches", "unknown_record_labels", "true_positives", "false_positives",
                "false_negatives", "true_negatives"):
        table.add_row(key.replace("_", " "), f"{getattr(scores, key):,}")
    for key in ("precision", "recall", "f1"):
        table.add_row(key, f"{getattr(scores, key):.4f}")
    console.print(table)
    for name, source in scores.source_mapping.items():
        console.print(f"labels' source '{name}' read as source '{source}'")


def _print_curve(found) -> None:
    from scv.curves import compact, format_threshold

    table = Table(title=f"scored pairs against threshold (judged by the {found.judged_by})",
                  box=box.SIMPLE_HEAD, pad_edge=False)
    rows = compact(found)
    for col in ("threshold", "weight", "pairs ≥", "true", "precision", "recall", "F1"):
        table.add_column(col, justify="left" if col == "threshold" else "right", no_wrap=True)
    table.add_column("", min_width=max(len(note) for _, note in rows))
    for p, note in rows:
        weight = "—" if p.match_weight is None else f"{p.match_weight:.1f}"
        table.add_row(format_threshold(p.threshold, 10), weight, f"{p.predicted_pairs:,}",
                      f"{p.true_positive_pairs:,}", f"{p.precision:.3f}", f"{p.recall:.3f}", f"{p.f1:.3f}", note)
    console.print(table)
    best, conf = found.best, found.configured
    console.print(f"{found.true_pairs:,} true pairs, {found.true_pairs_unscored:,} never scored (not blocked "
                  "together or below 0.01): recall no threshold reaches")
    if found.recommended_threshold == conf.threshold:
        console.print(f"configured linkage.threshold {format_threshold(conf.threshold)} (F1 {conf.f1:.4f} on the "
                      "scored pairs) does as well as any threshold on the grid")
        return
    weight = "" if best.match_weight is None else f", match weight {best.match_weight:.1f}"
    console.print(f"recommended linkage.threshold {format_threshold(best.threshold)}{weight} (F1 {best.f1:.4f} "
                  f"on the scored pairs); configured {format_threshold(conf.threshold)} (F1 {conf.f1:.4f})")


@app.command()
@_friendly
def validate(config: ConfigOption = Path("scv.yaml"), engine: EngineOption = None, debug: DebugOption = False):
    """Ingest, profile and validate only: check the sources without touching silver or gold."""
    from scv.project import Project

    result = Project.load(config, engine=engine and engine.value).validate()
    table = Table(title=f"validation {result.run_id}: {result.status} in {result.seconds:.1f} s")
    for col in ("source", "ingested", "quarantined", "passed"):
        table.add_column(col, justify="left" if col == "source" else "right")
    for source, c in result.per_source.items():
        passed = c.get("ingested", 0) - c.get("quarantined", 0)
        table.add_row(source, f"{c.get('ingested', 0):,}", f"{c.get('quarantined', 0):,}", f"{passed:,}")
    console.print(table)
    _print_warnings(result)


quarantine_app = typer.Typer(help="Inspect quarantined rows and release them.", no_args_is_help=True)
app.add_typer(quarantine_app, name="quarantine")


@quarantine_app.command("list")
@_friendly
def quarantine_list(config: ConfigOption = Path("scv.yaml"), debug: DebugOption = False):
    """Rows held back by the last run, by source and reason."""
    from scv import quarantine
    from scv.project import Project

    project = Project.load(config)
    table = Table(title="quarantine")
    for col in ("source", "reason", "rows"):
        table.add_column(col, justify="right" if col == "rows" else "left")
    found = quarantine.summary(project.lakehouse, project.config)
    for source, reason, n in found:
        table.add_row(source, reason, f"{n:,}")
    console.print(table if found else "quarantine is empty")


@quarantine_app.command("show")
@_friendly
def quarantine_show(
    source: Annotated[str, typer.Argument(help="Source name.")],
    config: ConfigOption = Path("scv.yaml"),
    limit: Annotated[int, typer.Option(help="Rows to show.")] = 20,
    reveal: Annotated[bool, typer.Option("--reveal", help="Show personal data as it is.")] = False,
    debug: DebugOption = False,
):
    """Quarantined rows of one source; personal columns appear as their shape unless --reveal."""
    from scv import quarantine
    from scv.project import Project

    project = Project.load(config)
    rows = quarantine.show(project.lakehouse, project.config, source, limit, reveal)
    shown = [c for c in rows.column_names if c not in ("_source", "_batch_id", "_ingested_at", "_row_hash")]
    table = Table(title=f"quarantine/{source} (first {rows.num_rows})")
    for col in shown:
        table.add_column(col)
    for row in rows.select(shown).to_pylist():
        table.add_row(*("" if v is None else str(v) for v in row.values()))
    console.print(table)


@quarantine_app.command("release")
@_friendly
def quarantine_release(
    source: Annotated[str, typer.Argument(help="Source name.")],
    record_id: Annotated[list[str] | None, typer.Option("--id", help="Record id to release (repeatable).")] = None,
    every: Annotated[bool, typer.Option("--all", help="Release every row that failed a check.")] = False,
    config: ConfigOption = Path("scv.yaml"),
    debug: DebugOption = False,
):
    """Let quarantined rows into the next run as they are (recorded by row hash)."""
    from scv import quarantine
    from scv.project import Project

    project = Project.load(config)
    n = quarantine.release(project.lakehouse, project.config, source, record_id, every)
    console.print(f"released {n:,} row(s) of {source}; they enter silver on the next run")


@app.command()
@_friendly
def forget(
    email: Annotated[str | None, typer.Option(help="The person's email address (any case).")] = None,
    phone: Annotated[str | None, typer.Option(help="The person's phone number (its last 10 digits count).")] = None,
    source: Annotated[str | None, typer.Option(help="A source name, with --id.")] = None,
    id: Annotated[str | None, typer.Option("--id", help="The record id in --source.")] = None,
    customer_id: Annotated[str | None, typer.Option(help="A customer id of gold/customers.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would be erased; change nothing.")] = False,
    config: ConfigOption = Path("scv.yaml"),
    debug: DebugOption = False,
):
    """Erase a person and their whole customer cluster from every table (right to be forgotten)."""
    from scv.project import Project

    receipt = Project.load(config).forget(email=email, phone=phone, source=source, id=id,
                                          customer_id=customer_id, dry_run=dry_run)
    title = "would remove (dry run: nothing changed)" if receipt.dry_run else f"erasure {receipt.request_id}"
    table = Table(title=f"{title}: {receipt.records:,} record(s) of {receipt.customers:,} customer(s)")
    table.add_column("table")
    table.add_column("rows removed or redacted" if not receipt.dry_run else "rows", justify="right")
    for name, n in receipt.removed.items():
        table.add_row(name if name != "reports" else "reports (redrawn)", f"{n:,}")
    console.print(table)
    if receipt.dry_run:
        return
    if receipt.verified:
        console.print("verified: no table holds the records, no file holds the identifier; "
                      "a tombstone in audit/erasure_register keeps them out of later runs")
        return
    for problem in receipt.problems:
        err_console.print(f"[bold red]not erased:[/] {problem}", highlight=False)
    raise typer.Exit(1)


@app.command()
@_friendly
def explain(
    record_key_a: Annotated[str, typer.Argument(help="A record key of silver/records (source:record id).")],
    record_key_b: Annotated[str, typer.Argument(help="The record key to compare it with.")],
    config: ConfigOption = Path("scv.yaml"),
    reveal: Annotated[bool, typer.Option("--reveal", help="Show personal data as it is.")] = False,
    html: Annotated[Path | None, typer.Option(
        "--html", help="Write Splink's waterfall chart to this HTML file (self-contained, works offline).")] = None,
    debug: DebugOption = False,
):
    """Why two records were or were not linked: each comparison's level and match weight."""
    from rich.markup import escape

    from scv.project import Project

    found = Project.load(config).explain(record_key_a, record_key_b, reveal=reveal)
    table = Table(title=f"{record_key_a} vs {record_key_b} (model of run {found.run_id})")
    for col in ("comparison", "level", record_key_a, record_key_b, "match weight"):
        table.add_column(escape(col), justify="right" if col == "match weight" else "left")
    table.add_row("prior", "odds that two records picked at random match", "", "", f"{found.prior_match_weight:+.2f}")
    for c in found.comparisons:
        tf = f" (term frequency {c.tf_adjustment:+.2f})" if c.tf_adjustment else ""
        table.add_row(c.name, escape(c.level + tf), *(escape(v) if v is not None else "[dim]null[/]"
                                                      for v in (c.value_a, c.value_b)), f"{c.match_weight:+.2f}")
    table.add_row("[bold]total", "", "", "", f"[bold]{found.match_weight:+.2f}")
    console.print(table)
    console.print(f"match probability [bold]{found.match_probability:.4f}[/] "
                  f"(pairs are clustered from {found.threshold}); {found.pairs_verdict}")
    ids = [found.customer_ids.get(k) for k in (record_key_a, record_key_b)]
    if found.same_customer is None:
        console.print("no gold/customer_xref entry for both records yet")
    else:
        console.print(f"same customer: [bold]{'yes' if found.same_customer else 'no'}[/] ({' / '.join(ids)})")
    for note in found.notes:
        console.print(f"[yellow]note:[/] {note}")
    if not reveal:
        console.print("values are shown as their shape (A letter, 9 digit); --reveal shows them")
    if html:
        console.print(f"waterfall chart: {found.write_html(html)}")


@app.command()
@_friendly
def lineage(
    customer_id: Annotated[str, typer.Argument(help="A customer id of gold/customers.")],
    config: ConfigOption = Path("scv.yaml"),
    view: Annotated[str | None, typer.Option(help="A view of golden.views: read gold/customers_<view>.")] = None,
    reveal: Annotated[bool, typer.Option("--reveal", help="Show personal data as it is.")] = False,
    debug: DebugOption = False,
):
    """Where each value of a customer's golden record came from: source, record and rule."""
    from rich.markup import escape

    from scv.project import Project

    found = Project.load(config).lineage(customer_id, view=view, reveal=reveal)
    table = Table(title=f"{found.golden_table}: {customer_id}")
    for col in ("field", "value", "rule", "source", "record", "records"):
        table.add_column(col, justify="right" if col == "records" else "left")
    for f in found.fields:
        table.add_row(f.field, escape(f.value) if f.value is not None else "[dim]null[/]", escape(f.rule),
                      f.source or "", escape(f.source_record_id or ""), str(f.contributing_records))
    console.print(table)
    if not reveal:
        console.print("personal values are shown as their shape (A letter, 9 digit); --reveal shows them")


@app.command()
@_friendly
def status(config: ConfigOption = Path("scv.yaml"), debug: DebugOption = False):
    """Show the lakehouse tables (rows, versions) and the last run."""
    from scv.project import Project

    state = Project.load(config).status()
    table = Table(title=f"lakehouse {state.lakehouse}")
    for col in ("table", "rows", "version", "last run"):
        table.add_column(col, justify="right" if col in ("rows", "version") else "left")
    for t in state.tables:
        table.add_row(t.name, f"{t.rows:,}", str(t.version), t.last_run or "")
    console.print(table)
    if not state.tables:
        console.print("no tables yet: run [bold]scv run[/]")
    if state.last_run:
        r = state.last_run
        console.print(
            f"last run {r['run_id']}: [bold]{r['status']}[/] in {r['seconds']:.1f} s; "
            f"{r['records_ingested']:,} ingested, {r['records_quarantined']:,} quarantined, "
            f"{r['records_silver']:,} in silver, {r['customers']:,} customers"
            + (f"; failed in {r['failed_stage']}: {r['error']}" if r["status"] == "failed" else "")
        )


def main():  # pragma: no cover - console entry point
    app()
