"""The range a date of birth must fall in: set in the project file, or found in each source's column.

A fixed range of 1900 to today suits living customers, but it rejected every date of
birth of a historical data set, and linkage then ran without its best field. So unless
`standardise.date_of_birth_range` sets the range, each source's comes from its own dates:
one from 1900 to today is kept, and an earlier one too unless it is far below the rest of
the column (`earliest_year`).
The range is decided once, as validation starts; the built-in check `date_of_birth_valid`
and the cleaning rule in silver both use it, so the validation report and silver agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from scv.standardise import from_parts, parsed_date

if TYPE_CHECKING:
    from scv.config import Source
    from scv.pipeline import Run

USUAL_EARLIEST_YEAR = 1900  # the usual range for living customers: 1900 to today
MODIFIED_Z = 3.5  # an outlier's modified z-score is beyond this (Iglewicz and Hoaglin)
MIN_MAD_YEARS = 10  # the median absolute deviation taken as at least this many years
MOST = 0.5  # a check that rejects more than this share of a column is reported as such


@dataclass(frozen=True)
class BirthRange:
    earliest: date
    latest: date | None = None  # None: today
    derived: bool = False  # found in the data rather than set in the project file

    def bounds(self) -> tuple[str, str]:
        """Earliest and latest as ISO dates, for an expectation's min_value and max_value."""
        return self.earliest.isoformat(), (self.latest or date.today()).isoformat()

    def text(self) -> str:
        """'1900 to today'; a derived range in years only, as it comes from personal data."""
        if self.derived:
            return f"{self.earliest.year} to today"
        return f"{self.earliest.isoformat()} to {self.latest.isoformat() if self.latest else 'today'}"


USUAL = BirthRange(date(USUAL_EARLIEST_YEAR, 1, 1))


def quantile(years: dict[int, int], p: float) -> int:
    """The year at quantile `p` of a histogram {year: count} (nearest rank)."""
    rank, seen = max(1, math.ceil(p * sum(years.values()))), 0
    for year in sorted(years):
        seen += years[year]
        if seen >= rank:
            return year
    raise ValueError("no years")


def earliest_year(years: dict[int, int]) -> int:
    """The earliest year of birth a column's dates {year: count} allow: where its outliers
    begin, or 1900 where that is earlier.

    An outlier is a year whose modified z-score, 0.6745 (year - median) / MAD, is below
    -3.5 (Iglewicz and Hoaglin's rule; MAD: the median absolute deviation from the median):
    over 5.2 MADs below the median. Median and MAD hold while up to half of a column is
    wrong, so placeholders such as 0001-01-01, or 1869 typed for 1969, do not move them,
    as they would move a minimum, a mean or, in a small column, a quartile. The MAD counts
    as at least 10 years, so a column of one decade keeps dates 52 years before its middle.
    The bound is never above 1900, so a column of modern dates keeps all of 1900 to today,
    as the fixed range did (a young customer base keeps its centenarians); a column of
    19th-century dates keeps them all."""
    if not years:
        return USUAL_EARLIEST_YEAR
    middle = quantile(years, 0.5)
    deviations: dict[int, int] = {}
    for year, n in years.items():
        deviations[abs(year - middle)] = deviations.get(abs(year - middle), 0) + n
    mad = max(quantile(deviations, 0.5), MIN_MAD_YEARS)
    return max(1, min(USUAL_EARLIEST_YEAR, math.ceil(middle - MODIFIED_Z * mad / 0.6745)))


@dataclass(frozen=True)
class Column:
    """What a source's date-of-birth column holds, as counts: no date leaves the engine."""

    values: int  # not empty
    no_date: int  # no date the formats read, or none at all (31 February)
    future: int
    years: dict[int, int]  # the rest, by year of birth
    outside_set: int  # outside standardise.date_of_birth_range (0 when unset)

    def rejected_before(self, year: int) -> int:
        """Values a range from `year` to today rejects."""
        return self.no_date + self.future + sum(n for y, n in self.years.items() if y < year)


def decide(run: Run) -> None:
    """`run.birth_ranges`: each customer source's range of dates of birth, with a warning
    where a check would reject most of a column."""
    for name, source in run.config.record_sources.items():
        if source.parts("date_of_birth"):
            run.birth_ranges[name] = source_range(run, name, source)


def configured(run: Run) -> BirthRange | None:
    if run.config.standardise.date_of_birth_range is None:
        return None
    earliest, latest = run.config.standardise.date_of_birth_range
    return BirthRange(earliest, None if latest == "today" else latest)


def source_range(run: Run, name: str, source: Source) -> BirthRange:
    """The range set in the project file, or the one this source's dates give."""
    columns = source.parts("date_of_birth")
    chosen = configured(run)
    column = count(run, name, columns, chosen)
    if chosen is None:
        chosen = BirthRange(date(earliest_year(column.years), 1, 1), derived=True)
        rejected = column.rejected_before(chosen.earliest.year)
    else:
        rejected = column.outside_set
    where = f"source {name}: {'column' if len(columns) == 1 else 'columns'} {', '.join(columns)}"
    say_if_most_rejected(run, where, column, chosen, rejected)
    return chosen


def say_if_most_rejected(run: Run, where: str, column: Column, chosen: BirthRange, rejected: int) -> None:
    """A warning when the range rejects most of the column, or when the usual range would
    have and the data's own was taken instead. Shares and years only: no date of a record."""
    usual = column.rejected_before(USUAL_EARLIEST_YEAR)
    most = MOST * column.values
    if rejected > most and not chosen.derived:
        run.warn(f"{where}: standardise.date_of_birth_range ({chosen.text()}) rejects "
                 f"{rejected / column.values:.0%} of the dates of birth; they are null in silver, as set, "
                 "and linkage compares the rest only")
    elif rejected > most:
        run.warn(f"{where}: {rejected / column.values:.0%} of the values are no date of birth (no date the "
                 "formats read, or in the future) and are null in silver; check standardise.date_formats "
                 "and standardise.date_order")
    elif usual > most:
        run.warn(f"{where}: the usual date-of-birth range, {USUAL_EARLIEST_YEAR} to today, would reject "
                 f"{usual / column.values:.0%} of the dates of birth; the range is taken from the data "
                 f"instead, {chosen.text()}, so they are kept and linked on "
                 "(standardise.date_of_birth_range sets it)")


def count(run: Run, name: str, columns: list[str], set_range: BirthRange | None) -> Column:
    """One pass over the source's bronze rows: a row per year of birth comes back, no date."""
    d = run.engine.dialect
    value, raw = from_parts(d, "date_of_birth", [f"v.{d.quote(c)}" for c in columns])
    inside = "true"
    if set_range is not None:
        low, high = (f"cast({d.literal(b)} as date)" for b in set_range.bounds())
        inside = f"coalesce(p between {low} and {'current_date' if set_range.latest is None else high}, false)"
    rows = run.engine.rows(
        f"""select year(p), coalesce(p > current_date, false), {inside}, count(*)
            from (select {parsed_date(d, value, run.config.standardise.date_formats)} as p
                  from {d.quote(f'bronze_{name}')} v
                  where nullif(trim(cast({raw} as string)), '') is not null) r
            group by 1, 2, 3""")
    years: dict[int, int] = {}
    for year, ahead, _, n in rows:
        if year is not None and not ahead:
            years[year] = years.get(year, 0) + n
    return Column(
        values=sum(n for *_, n in rows),
        no_date=sum(n for year, *_, n in rows if year is None),
        future=sum(n for year, ahead, _, n in rows if year is not None and ahead),
        years=years,
        outside_set=sum(n for *_, inside, n in rows if not inside) if set_range else 0,
    )
