"""Standardise speed: about 1,000,000 generated records through ingest .. standardise.

    python benchmarks/standardise.py [--people 615000] [--out FILE]

The issue's target is 1,000,000 records standardised in at most 30 s on this machine.
Generates the demo sources (`scv.generate`, about 1.62 records per person), runs the
stages up to and including standardise on DuckDB, and reports each stage's seconds.
Phones are parsed once per distinct value (rphonenumbers), so this is the worst case:
nearly every record has its own number.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from engines import machine  # noqa: E402 - the shared machine description

from scv import Project  # noqa: E402
from scv.generate import demo_project_yaml, generate  # noqa: E402
from scv.pipeline import STAGES  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=615_000)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "standardise.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="scv-standardise-") as tmp:
        folder = Path(tmp)
        data = generate(folder / "data", people=args.people)
        (folder / "scv.yaml").write_text(demo_project_yaml("data", "lakehouse"))
        project = Project.load(folder / "scv.yaml")
        started = time.perf_counter()
        result = project._execute(STAGES[:4], None)  # ingest, profile, validate, standardise
        wall = time.perf_counter() - started
    records = sum(data.records_per_source.values())
    report = {"machine": machine(), "people": args.people, "records": records, "silver": result.silver,
              "stage_seconds": result.stage_seconds, "wall_seconds": round(wall, 1)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    s = result.stage_seconds
    print(f"{records:,} records: standardise {s['standardise']:.1f} s (target 30 s); "
          f"ingest {s['ingest']:.1f}, profile {s['profile']:.1f}, validate {s['validate']:.1f}; "
          f"{wall:.1f} s for the four stages")


if __name__ == "__main__":
    main()
