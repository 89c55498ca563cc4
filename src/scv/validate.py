"""Validate: rows that cannot be identified leave the pipeline for quarantine.

Lines the reader could not parse join them there. A record id must be present and unique within its source. Exact copies of a row keep
one copy; different rows sharing an id are all held back, since nothing says which
one is right.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scv.ingest import rejects_table

if TYPE_CHECKING:
    from scv.pipeline import Run


def validate(run: Run) -> None:
    q, lit = run.engine.dialect.quote, run.engine.dialect.literal
    for name, source in run.config.sources.items():
        bronze = q(f"bronze_{name}")
        id_col = lit(source.id)
        run.engine.create(
            f"checked_{name}",
            f"""with ids as (
                    select _record_id, count(distinct _row_hash) as versions
                    from {bronze} where _record_id is not null group by _record_id),
                copies as (
                    select *, row_number() over (
                        partition by _record_id, _row_hash order by _ingested_at) as _copy
                    from {bronze})
                select c.*, case
                    when c._record_id is null
                        then concat('missing record id (column ', {id_col}, ')')
                    when i.versions > 1
                        then concat('record id not unique (column ', {id_col}, '): ',
                                    cast(i.versions as string), ' different rows share it')
                    when c._copy > 1 then 'exact duplicate of another row'
                end as _reason
                from copies c left join ids i on c._record_id = i._record_id""",
        )
        columns = run.engine.columns(f"bronze_{name}")
        bronze_cols = ", ".join(q(c) for c, _ in columns)
        unparsed = ", ".join(
            lit(name) if c == "_source" else f"cast(null as {t}) as {q(c)}" for c, t in columns
        )
        run.engine.create(
            f"valid_{name}",
            f"select {bronze_cols} from {q(f'checked_{name}')} where _reason is null",
        )
        run.engine.create(
            f"quarantine_{name}",
            f"""select {bronze_cols}, _reason, cast(null as string) as _file,
                       cast(null as bigint) as _line, cast(null as string) as _raw_line,
                       {lit(run.run_id)} as _run_id
                from {q(f'checked_{name}')} where _reason is not null
                union all
                select {unparsed}, _reason, _file, _line, _raw_line, {lit(run.run_id)} as _run_id
                from {q(rejects_table(name))}""",
        )
        run.engine.drop(f"checked_{name}")
        run.engine.publish(f"quarantine_{name}", run.lakehouse, f"quarantine/{name}", run.run_id)
        run.count(name, "quarantined", run.engine.count(f"quarantine_{name}"))
