"""Spark SQL functions that compute exactly what DuckDB computes, so both engines link alike.

Splink's Spark jar scores Jaro with fractional transpositions; DuckDB (rapidfuzz) counts
whole ones. The difference moves about 1% of name pairs across a comparison level, so
the Spark engine replaces `jaro_winkler` and `jaro_sim` with SQL functions that follow
DuckDB. They are SQL functions (no Python, no jar), so they run on any cluster.
"""

from __future__ import annotations

# Greedy Jaro matching over s: for each character, the first unmatched equal character of
# t within the window. State: which characters of t are matched, s's matched characters.
_MATCHING = """
aggregate(
  sequence(0, length(s) - 1),
  named_struct('tm', array_repeat(false, length(t)), 'sc', cast(array() as array<binary>)),
  (acc, i) -> aggregate(
    array(try_element_at(filter(
      sequence(greatest(0, i - {w}), greatest(greatest(0, i - {w}), least(length(t) - 1, i + {w}))),
      k -> k <= least(length(t) - 1, i + {w}) and not acc.tm[k] and substr(t, k + 1, 1) = substr(s, i + 1, 1)
    ), 1)),
    acc,
    (a, j) -> case when j is null then a else named_struct(
      'tm', transform(a.tm, (f, k) -> f or k = j),
      'sc', concat(a.sc, array(substr(s, i + 1, 1)))) end))
""".replace("{w}", "greatest(greatest(length(s), length(t)) div 2 - 1, 0)")

_JARO_OF_STATE = """
case when size(st.sc) = 0 then cast(0 as double) else (
  size(st.sc) / length(s) + size(st.sc) / length(t)
  + (size(st.sc) - size(filter(zip_with(
      st.sc,
      filter(transform(st.tm, (f, k) -> case when f then substr(t, k + 1, 1) end), c -> c is not null),
      (x, y) -> x != y), d -> d)) div 2) / size(st.sc)
) / 3 end
"""

JARO = f"""
case when length(s) = 0 or length(t) = 0 then cast(0 as double)
     else aggregate(array({_MATCHING}), cast(0 as double), (z, st) -> {_JARO_OF_STATE}) end
"""

_PREFIX = """
aggregate(sequence(1, least(4, length(s), length(t))), 0,
          (p, k) -> case when p = k - 1 and substr(s, k, 1) = substr(t, k, 1) then k else p end)
"""

JARO_WINKLER = f"""
aggregate(array({JARO}), cast(0 as double), (z, j) ->
  case when j > 0.7 and least(length(s), length(t)) > 0 then j + ({_PREFIX}) * cast(0.1 as double) * (1 - j) else j end)
"""

# DuckDB compares bytes of UTF-8, not characters: the bodies take binary arguments.
FUNCTIONS = {"jaro_sim": JARO, "jaro_winkler": JARO_WINKLER}


def register(spark) -> None:
    """The functions as temporary SQL functions of the session, in place of the jar's."""
    for name, body in FUNCTIONS.items():
        spark.sql(f"drop temporary function if exists {name}")  # the jar's version
        spark.sql(
            f"create or replace temporary function {name}_utf8(s binary, t binary) "
            f"returns double return {' '.join(body.split())}"
        )
        spark.sql(
            f"create temporary function {name}(s string, t string) returns double "
            f"return {name}_utf8(encode(s, 'UTF-8'), encode(t, 'UTF-8'))"
        )
