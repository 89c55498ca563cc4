"""Robustness of scv's defaults on data nobody tuned it for: the yardstick for linkage changes.

    python benchmarks/robustness.py [--only NAME[,NAME]] [--records 25000] [--jobs 1]
                                    [--out benchmarks/results/robustness.json] [--timeout 3600]
    python benchmarks/robustness.py --show     # the table of the last results, without running
    python benchmarks/robustness.py --src /tmp/scv-at-abc1234/src --commit abc1234   # another version of scv

Runs `Project.load(config).run()` with only a column mapping (no tuning) on

* every data set in ../shared/data: accuracy.py's DATA_SETS (prepared by its `prepare`)
  and the three ncvr500 levels as 5-source projects (ocp{0,20,40}_party{0..4}.csv, id
  recid, first name / surname / suburb / postcode; the true person is recid);
* every shape of shapes.py at `--records` records (25,000 by default; `big`, the demo
  generator, at 4x that: 100,000).

Each set runs in its own process and temporary folder, `--jobs` at a time (1 by default:
the machine has 2 cores); one that fails or times out is reported as a failed row with its
error and the rest go on. Per set it records pairwise precision, recall and F1 and B-cubed
F1 (`Project.evaluate`), the largest customer (records of the biggest cluster of
gold/customer_xref) against the largest true person, the run's own expected F1 (the last
row of audit/runs, column `linkage`: `expected_f1`, else `expected_f1_at_threshold`) and its
distance from the actual F1, the ceiling (below) and the run's seconds. Results are merged
by set into `--out` (a set run again replaces its entry; each entry names its commit), and
the table of this invocation's sets is printed, failed runs and then worst F1 first.

The ceiling. Records of different true people that are identical in every mapped field
(after lower-casing and trimming; unmapped and empty values count as the same empty value)
cannot be told apart from what scv sees. The ceiling is the pairwise F1 of the clustering
that is the truth except that every such group of indistinguishable records is merged:
people sharing such a group become one cluster (transitively). Its recall is 1 and its
precision is true pairs / predicted pairs. It is a reference, not a strict bound: it
ignores the source a record comes from (two identical records in a source that holds each
person once are two people) and a clustering could split such a merged group differently
and score higher.

A row fails the bar of issue 25 (column `fails`) when
  F1 < min(0.90, ceiling - 0.05)                      -> "F1"
  largest customer > 2 x largest true person          -> "giant"
  |expected F1 - actual F1| > 0.05                    -> "self"
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from accuracy import DATA, DATA_SETS, prepare  # noqa: E402

import shapes  # noqa: E402

NCVR_COLUMNS = {"first_name": "givenname", "last_name": "surname", "city": "suburb", "postcode": "postcode"}
SHARED_SETS = {
    **DATA_SETS,
    **{f"ncvr500_ocp{level}": {"files": {f"party{p}": f"ncvr500/ocp{level}_party{p}.csv" for p in range(5)},
                               "id": "recid", "columns": NCVR_COLUMNS, "truth": "recid"}
       for level in (0, 20, 40)},
}
ALL_SETS = [*SHARED_SETS, *shapes.SHAPES]
F1_BAR, CEILING_MARGIN, GIANT_FACTOR, SELF_ASSESSMENT_MARGIN = 0.90, 0.05, 2, 0.05


# ======================================================================================
# One set (in its own process)
# ======================================================================================


def run_set(name: str, records: int, seed: int) -> dict:
    """Prepare or generate `name` in a temporary folder, run scv's defaults and score it."""
    import scv
    from scv import Project

    with tempfile.TemporaryDirectory(prefix=f"scv-robustness-{name}-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        if name in SHARED_SETS:
            (folder / "ncvr500").mkdir()
            config, truth = prepare(folder, SHARED_SETS[name])
        else:
            size = records * shapes.BIG_RECORDS_FACTOR if name == "big" else records
            config, truth = shapes.make(name, folder, records=size, seed=seed)
        prepared = time.perf_counter() - started
        ceiling = ceiling_of(config, truth)
        project = Project.load(config)
        started = time.perf_counter()
        run = project.run()
        seconds = time.perf_counter() - started
        scores = project.evaluate(truth).as_dict()
        facts = json.loads(project.lakehouse.read_table("audit/runs")["linkage"][-1].as_py() or "{}")
        expected = facts.get("expected_f1", facts.get("expected_f1_at_threshold"))
        largest = largest_customer(project.lakehouse.read_table("gold/customer_xref"))
        return {
            **scores,
            "ceiling": ceiling["f1"],
            "indistinguishable_records": ceiling["indistinguishable_records"],
            "largest_customer": largest,
            "largest_true_person": ceiling["largest_true_person"],
            "expected_f1": expected,
            "expected_minus_actual": None if expected is None else round(expected - scores["f1"], 4),
            "seconds": round(seconds, 1),
            "prepare_seconds": round(prepared, 1),
            "warnings": run.warnings,
            "scv": str(Path(scv.__file__).parent),
            "linkage": {k: facts.get(k) for k in ("threshold", "expected_f1", "expected_f1_at_threshold",
                                                  "expected_f1_at_recommended", "recommended_threshold",
                                                  "share_linked_strangers", "strangers_expected", "retrained_without",
                                                  "estimated_blocking_recall") if k in facts},
        }


def largest_customer(xref) -> int:
    import pyarrow.compute as pc
    counts = pc.value_counts(xref["customer_id"].combine_chunks())
    return int(pc.max(counts.field("counts")).as_py() or 0)


def _reader(path: Path, fmt: str | None) -> str:
    fmt = fmt or {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".parquet": "parquet", ".json": "json",
                  ".jsonl": "json", ".ndjson": "json"}.get(path.suffix.lower(), "csv")
    if fmt == "csv":
        return f"read_csv('{path}', all_varchar=true, header=true)"
    if fmt == "parquet":
        return f"read_parquet('{path}')"
    if fmt == "json":
        return f"read_json('{path}', format='newline_delimited')"
    raise ValueError(f"the ceiling cannot read format {fmt} ({path})")


def ceiling_of(config: Path, truth: Path) -> dict:
    """The F1 of the truth with indistinguishable records merged (see the module docstring)."""
    import duckdb
    import yaml

    spec = yaml.safe_load(config.read_text())
    sources = {n: s for n, s in spec["sources"].items() if s.get("kind", "records") == "records"}
    fields = sorted({f for s in sources.values() for f in s.get("columns", {})})
    con = duckdb.connect()
    parts = []
    for name, s in sources.items():
        cols = s.get("columns", {})
        exprs = []
        for f in fields:
            mapped = cols.get(f)
            if mapped is None:
                exprs.append(f"'' as \"{f}\"")
                continue
            mapped = [mapped] if isinstance(mapped, str) else mapped
            joined = " || ' ' || ".join(f"coalesce(trim(cast(\"{c}\" as varchar)), '')" for c in mapped)
            exprs.append(f"lower(trim({joined})) as \"{f}\"")
        parts.append(f"select '{name}' as source, trim(cast(\"{s['id']}\" as varchar)) as rid, "
                     f"{', '.join(exprs) or chr(39) + chr(39) + ' as none'} "
                     f"from {_reader(config.parent / s['path'], s.get('format'))}")
    key = " || chr(1) || ".join(f'"{f}"' for f in fields) or "''"
    con.sql(f"create table rec as select source, rid, md5({key}) as k from ({' union all '.join(parts)})")
    con.sql(f"create table truth as select source, trim(source_record_id) as rid, person_id as person "
            f"from read_csv('{truth}', all_varchar=true, header=true)")
    rows = con.sql("select t.person, r.k from truth t join rec r using (source, rid)").fetchall()
    sizes: dict[str, int] = {}
    by_key: dict[str, list[str]] = {}
    for person, k in rows:
        sizes[person] = sizes.get(person, 0) + 1
        by_key.setdefault(k, []).append(person)
    parent = {p: p for p in sizes}

    def find(p: str) -> str:
        while parent[p] != p:
            parent[p] = parent[parent[p]]
            p = parent[p]
        return p

    indistinguishable = 0
    for people in by_key.values():
        distinct = set(people)
        if len(distinct) > 1:
            indistinguishable += len(people)
            first, *rest = distinct
            for other in rest:
                a, b = find(first), find(other)
                if a != b:
                    parent[b] = a
    merged: dict[str, int] = {}
    for p, n in sizes.items():
        root = find(p)
        merged[root] = merged.get(root, 0) + n
    true_pairs = sum(n * (n - 1) // 2 for n in sizes.values())
    predicted_pairs = sum(n * (n - 1) // 2 for n in merged.values())
    precision = true_pairs / predicted_pairs if predicted_pairs else 1.0
    return {"f1": round(2 * precision / (1 + precision), 6), "indistinguishable_records": indistinguishable,
            "largest_true_person": max(sizes.values(), default=0)}


# ======================================================================================
# The driver
# ======================================================================================


def _commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "src"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _in_process(name: str, records: int, seed: int, timeout: float, src: Path | None = None) -> dict:
    """Run one set in a child process (isolation: memory, crashes, DuckDB state)."""
    started = time.perf_counter()
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        result_path = Path(f.name)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", name, "--records", str(records),
           "--seed", str(seed), "--result", str(result_path)]
    env = dict(os.environ)
    if src is not None:  # import scv from there rather than the installed one
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)
        text = result_path.read_text() if result_path.exists() else ""
        if text.strip():
            return json.loads(text)
        tail = (proc.stderr or proc.stdout or "").strip().splitlines()[-5:]
        return {"error": f"exit code {proc.returncode}: " + " | ".join(tail)}
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s", "seconds": round(time.perf_counter() - started, 1)}
    finally:
        result_path.unlink(missing_ok=True)


def fails(r: dict) -> list[str]:
    if "error" in r:
        return ["error"]
    out = []
    if r["f1"] < min(F1_BAR, r["ceiling"] - CEILING_MARGIN):
        out.append("F1")
    if r["largest_customer"] > GIANT_FACTOR * r["largest_true_person"]:
        out.append("giant")
    if r["expected_f1"] is None or abs(r["expected_f1"] - r["f1"]) > SELF_ASSESSMENT_MARGIN:
        out.append("self")
    return out


def table(results: dict[str, dict]) -> str:
    def order(item):
        name, r = item
        return (0, 0.0, name) if "error" in r else (1, r["f1"], name)

    lines = ["| set | records | precision | recall | F1 | B-cubed F1 | ceiling | largest customer / true person "
             "| expected F1 | abs(expected - F1) | seconds | fails |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in sorted(results.items(), key=order):
        if "error" in r:
            error = r["error"].replace("|", "/")[:160]
            lines.append(f"| {name} | | | | | | | | | | {r.get('seconds', '')} | error: {error} |")
            continue
        expected = "—" if r["expected_f1"] is None else f"{r['expected_f1']:.3f}"
        gap = "—" if r["expected_f1"] is None else f"{abs(r['expected_f1'] - r['f1']):.3f}"
        lines.append(
            f"| {name} | {r['records']:,} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} | "
            f"{r['bcubed_f1']:.3f} | {r['ceiling']:.3f} | {r['largest_customer']:,} / {r['largest_true_person']} | "
            f"{expected} | {gap} | {r['seconds']} | {', '.join(fails(r)) or 'ok'} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated set names: " + ", ".join(ALL_SETS))
    parser.add_argument("--records", type=int, default=25_000, help="records per shape (big: 4x)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--jobs", type=int, default=1, help="sets run at once (default 1)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds a set may take")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "robustness.json")
    parser.add_argument("--show", action="store_true", help="print the table of --out and stop")
    parser.add_argument("--src", type=Path, help="run the scv package found in this folder (e.g. the src/ of an "
                        "export of another commit) instead of the installed one")
    parser.add_argument("--commit", help="the version to record (default: git HEAD of this repository, "
                        "+dirty when src/ has changes)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:  # a child process: one set, its result as JSON in --result
        try:
            result = run_set(args.worker, args.records, args.seed)
        except Exception as e:  # noqa: BLE001 -- any failure is a failed row
            result = {"error": f"{type(e).__name__}: {e}".strip(),
                      "traceback": traceback.format_exc().splitlines()[-12:]}
        args.result.write_text(json.dumps(result, default=str))
        return

    saved = json.loads(args.out.read_text()) if args.out.exists() else {"sets": {}}
    if args.show:
        print(table(saved["sets"]))
        return
    names = ALL_SETS if not args.only else [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in ALL_SETS]
    if unknown:
        parser.error(f"unknown set(s) {', '.join(unknown)}; use: {', '.join(ALL_SETS)}")
    if not DATA.exists():
        print(f"note: {DATA} not found: the shared data sets will fail", file=sys.stderr)
    commit = args.commit or (_commit() if args.src is None else f"scv from {args.src}")
    results: dict[str, dict] = {}

    def one(name: str) -> None:
        started = time.perf_counter()
        r = _in_process(name, args.records, args.seed, args.timeout, args.src)
        r.update(commit=commit, at=dt.datetime.now().isoformat(timespec="seconds"),
                 records_setting=None if name in SHARED_SETS else args.records, seed=args.seed)
        results[name] = r
        wall = time.perf_counter() - started
        summary = (f"error: {r['error'][:200]}" if "error" in r else
                   f"F1 {r['f1']:.3f} (ceiling {r['ceiling']:.3f}), largest {r['largest_customer']} / "
                   f"{r['largest_true_person']}, expected {r['expected_f1']}, run {r['seconds']} s")
        print(f"[{len(results)}/{len(names)}] {name}: {summary}; {wall:.0f} s in all", file=sys.stderr, flush=True)

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        list(pool.map(one, names))

    saved["sets"].update(results)
    saved.update(updated=dt.datetime.now().isoformat(timespec="seconds"), machine=f"{os.cpu_count()} cores")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(saved, indent=1, default=str))
    print(table(results))


if __name__ == "__main__":
    main()
