"""Pseudonymisation: an analytics copy of gold with keyed tokens, and a vault of the values.

With `compliance.pseudonymise: true` each run also writes

- `gold/customers_analytics`: gold/customers with every personal field (`PSEUDONYMISED`)
  replaced by a token, the first 32 hex digits of HMAC-SHA256 over the field's name and
  its standardised value. The same value and key give the same token in every run, so
  counts, joins and de-duplication still work; without the key a token cannot be reversed
  by hashing guesses. `birth_year` is kept beside the date of birth's token.
- `vault/customers` (customer_id -> personal fields of gold/customers) and `vault/records`
  (record_key -> personal fields of silver/records): the restricted area that maps the
  ids analysts see back to people.

Neither engine has HMAC in SQL, so the distinct values of each personal field are hashed
here and go back as one small lookup table (`engine.read_arrow`) that plain SQL joins on,
the same for DuckDB and Spark. Tables are built in the `pseudonymise` stage and written
in `publish`, after gold, so a failed run leaves the previous ones in place.
"""

from __future__ import annotations

import hmac
from hashlib import sha256
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from scv.config import ProjectConfig
from scv.keys import read_key
from scv.lakehouse import Lakehouse
from scv.quality_tables import PERSONAL_FIELDS

if TYPE_CHECKING:
    from scv.pipeline import Run

ANALYTICS = "gold/customers_analytics"
VAULT_CUSTOMERS = "vault/customers"
VAULT_RECORDS = "vault/records"
# Personal fields, plus the parts standardise derives from them (the address line's house number).
PSEUDONYMISED = (*PERSONAL_FIELDS, "house_number")
TOKEN_HEX = 32  # 128 bits: no collisions in practice, half the width of the full digest
LOOKUP_SCHEMA = pa.schema([("field", pa.string()), ("value", pa.string()), ("token", pa.string())])
# engine table -> lakehouse table, written by `publish_pseudonymised`
OUTPUTS = {"customers_analytics": ANALYTICS, "vault_customers": VAULT_CUSTOMERS,
           "vault_records": VAULT_RECORDS}


def pseudonymisation_key(config: ProjectConfig, base_dir: Path, lake: Lakehouse) -> bytes:
    """The tokens' HMAC key: the environment variable, else the configured key file.

    Never created by scv (a new key would silently change every token), never logged.
    """
    c = config.compliance
    return read_key(
        c.pseudonymisation_key_env, c.pseudonymisation_key_file, "compliance.pseudonymisation_key_file",
        base_dir, lake,
        missing=f"compliance.pseudonymise is on but there is no pseudonymisation key: set the "
                f"environment variable {c.pseudonymisation_key_env}, or "
                "compliance.pseudonymisation_key_file in scv.yaml (a file outside the lakehouse "
                "holding the key); nothing was written")


def token(key: bytes, field: str, value: str) -> str:
    """A personal value's token: the same field, value and key always give the same token."""
    message = f"pseudonym\x1f{field}\x1f{value}".encode("utf-8")
    return hmac.new(key, message, sha256).hexdigest()[:TOKEN_HEX]


def token_lookup(key: bytes, values: list[tuple[str, str]]) -> pa.Table:
    """(field, value) pairs -> the lookup table field, value, token."""
    pairs = list(dict.fromkeys(values))
    return pa.table({"field": [f for f, _ in pairs], "value": [v for _, v in pairs],
                     "token": [token(key, f, v) for f, v in pairs]}, schema=LOOKUP_SCHEMA)


def pseudonymise(run: Run) -> None:
    """Engine tables customers_analytics, vault_customers and vault_records (when switched on)."""
    if not run.config.compliance.pseudonymise:
        return
    if run.pseudonymisation_key is None:  # execute() reads it before the run writes anything
        raise RuntimeError("the pseudonymisation key was not read at the start of the run")
    engine = run.engine
    q, lit = engine.dialect.quote, engine.dialect.literal
    columns = [c for c, _ in engine.columns("customers")]
    personal = [c for c in columns if c in PSEUDONYMISED]

    values = []
    for f in personal:
        values += [(f, v) for (v,) in engine.rows(
            f"select distinct cast({q(f)} as string) from customers where {q(f)} is not null")]
    engine.read_arrow("pseudonyms", token_lookup(run.pseudonymisation_key, values))

    selected, joins = [], []
    for c in columns:
        if c not in personal:
            selected.append(f"c.{q(c)}")
            continue
        alias = q(f"p_{c}")
        joins.append(f"left join pseudonyms {alias} on {alias}.field = {lit(c)} "
                     f"and {alias}.value = cast(c.{q(c)} as string)")
        selected.append(f"{alias}.token as {q(c)}")
        if c == "date_of_birth":
            selected.append(f"cast(extract(year from c.{q(c)}) as int) as birth_year")
    engine.create("customers_analytics",
                  f"select {', '.join(selected)} from customers c {' '.join(joins)}")
    engine.drop("pseudonyms")

    engine.create("vault_customers", f"select {', '.join(q(c) for c in ['customer_id', *personal])} "
                                     "from customers")
    record_fields = [c for c, _ in engine.columns("silver_records") if c in PSEUDONYMISED]
    engine.create("vault_records", f"select {', '.join(q(c) for c in ['record_key', *record_fields])} "
                                   "from silver_records")


def publish_pseudonymised(run: Run) -> None:
    """Write the tables `pseudonymise` built; called by the publish stage after gold."""
    if not run.config.compliance.pseudonymise:
        return
    for name, table in OUTPUTS.items():
        run.engine.publish(name, run.lakehouse, table, run.run_id)
