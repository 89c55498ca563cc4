"""Spark SQL functions that compute exactly what DuckDB computes, so both engines link alike.

Splink's Spark jar scores Jaro with fractional transpositions; DuckDB (rapidfuzz) counts
whole ones. The difference moves about 1% of name pairs across a comparison level, so
the Spark engine replaces `jaro_winkler` and `jaro_sim` with SQL functions that follow
DuckDB. They are SQL functions (no Python, no jar), so they run on any cluster.
"""

from __future__ import annotations

# Strings are decoded as Latin-1 so that one character stands for one byte of UTF-8, as in
# DuckDB. Greedy Jaro matching over s: each character takes the first equal character
# of t within the window that is not taken yet; taken characters of t are blanked out
# with NUL in `tt`, so `locate` finds the next free one.
_W = "greatest(greatest(length(s), length(t)) div 2 - 1, 0)"
_MATCHING = f"""
aggregate(
  sequence(1, length(s)),
  named_struct('tt', t, 'sc', ''),
  (acc, i) -> aggregate(
    array(locate(substr(s, i, 1), acc.tt, greatest(1, i - {_W}))),
    acc,
    (a, k) -> case when k > 0 and k <= i + {_W} then named_struct(
      'tt', concat(substr(a.tt, 1, k - 1), chr(0), substr(a.tt, k + 1)),
      'sc', concat(a.sc, substr(s, i, 1))) else a end))
"""

# t's taken characters in order (tc), then half the positions where sc and tc differ.
_TAKEN_IN_T = """
aggregate(sequence(1, length(t)), '',
  (tc, q) -> case when substr(st.tt, q, 1) = chr(0) then concat(tc, substr(t, q, 1)) else tc end)
"""
_JARO_OF_STATE = f"""
case when length(st.sc) = 0 then cast(0 as double) else aggregate(array({_TAKEN_IN_T}), cast(0 as double),
  (y, tc) -> (
    length(st.sc) / length(s) + length(st.sc) / length(t)
    + (length(st.sc) - aggregate(sequence(1, length(st.sc)), 0,
        (n, p) -> n + case when substr(st.sc, p, 1) != substr(tc, p, 1) then 1 else 0 end) div 2)
      / length(st.sc)
  ) / 3) end
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

FUNCTIONS = {"jaro_sim": JARO, "jaro_winkler": JARO_WINKLER}


def register(spark) -> None:
    """The functions as temporary SQL functions of the session, in place of the jar's."""
    for name, body in FUNCTIONS.items():
        spark.sql(f"drop temporary function if exists {name}")  # the jar's version
        spark.sql(
            f"create or replace temporary function {name}_bytes(s string, t string) "
            f"returns double return {' '.join(body.split())}"
        )
        spark.sql(
            f"create temporary function {name}(s string, t string) returns double "
            f"return {name}_bytes(decode(encode(s, 'UTF-8'), 'ISO-8859-1'), "
            f"decode(encode(t, 'UTF-8'), 'ISO-8859-1'))"
        )
