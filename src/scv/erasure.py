"""Right to be forgotten: erase a person from every table, leave no trace, keep them out.

`forget` finds the person's records (by email, phone, source record id or customer id)
and their whole cluster in gold/customer_xref, removes them from bronze, quarantine,
silver, gold (gold/customers_analytics, the golden views and gold/customer_lineage too, and the
gold/customer_id_history rows naming their ids, current or merged into them) and the
pseudonymisation vault, redacts the
values that audit tables and reports could hold, and purges each table's history (old
data files, JSON commits whose statistics held values). It then records a tombstone in
audit/erasure_register: keyed hashes (HMAC-SHA256) of the identifiers, never the
identifiers, so a later run can suppress the same records when a source still sends them
(`Tombstones.suppress`, called by ingest).

Tables are rewritten by filtering on surrogate keys in Arrow and overwriting, not by a
Delta DELETE, whose predicate text would carry the keys into the log.
"""

from __future__ import annotations

import hmac
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from hashlib import sha256
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from scv.config import ProjectConfig
from scv.errors import ScvError
from scv.identity import HISTORY, MERGE
from scv.keys import read_key
from scv.golden import LINEAGE_TABLE as LINEAGE
from scv.lakehouse import PERSONAL_LAYERS, Lakehouse
from scv.pseudonymise import ANALYTICS, VAULT_CUSTOMERS, VAULT_RECORDS
from scv.quality_tables import PROFILE_SCHEMA, VALIDATION_SCHEMA
from scv.validate import RELEASES

if TYPE_CHECKING:
    from scv.engine import Engine

REGISTER = "audit/erasure_register"
REGISTER_SCHEMA = pa.schema([
    ("request_id", pa.string()), ("erased_at", pa.timestamp("us", "UTC")),
    ("identified_by", pa.string()),  # email | phone | record | customer: the kind, not the value
    ("email_hashes", pa.list_(pa.string())), ("phone_hashes", pa.list_(pa.string())),
    ("record_hashes", pa.list_(pa.string())),
    ("records", pa.int64()), ("removed", pa.string()),  # JSON {table: rows}
])
REDACTED = "(redacted: erasure)"


class NotFound(ScvError):
    """No record matches the identifier: nothing was erased."""


@dataclass(frozen=True)
class Identifier:
    """What the request names the person by; exactly one of them."""

    email: str | None = None
    phone: str | None = None
    source: str | None = None
    record_id: str | None = None
    customer_id: str | None = None

    def __post_init__(self):
        given = [k for k in ("email", "phone", "record_id", "customer_id") if getattr(self, k)]
        if len(given) != 1 or bool(self.source) != bool(self.record_id):
            raise ScvError("name the person by exactly one of: --email, --phone, "
                           "--source with --id, --customer-id")
        if self.phone and not phone_key(self.phone):
            raise ScvError("--phone: no digits in the number given")

    @property
    def kind(self) -> str:
        return "email" if self.email else "phone" if self.phone else \
            "record" if self.record_id else "customer"

    def searchable(self) -> list[str]:
        """Values the byte search of the lakehouse looks for (ids are too short to search)."""
        if self.email:
            return sorted({self.email.strip(), normalise_email(self.email)})
        if self.phone:
            return [phone_key(self.phone)]
        return []


def normalise_email(value: str) -> str:
    return value.strip().lower()


def phone_key(value: str) -> str:
    """The last ten digits, as link.py compares phones ('' when there are none)."""
    return re.sub(r"\D", "", value)[-10:]


# ---------------------------------------------------------------- the key and the hashes

def erasure_key(config: ProjectConfig, base_dir: Path, lake: Lakehouse, create: bool = False) -> bytes:
    """The HMAC key of the register: the environment variable, else the configured key file.

    With `create`, a configured key file that does not exist yet is made (see `scv.keys`).
    The key is never logged, printed or stored in the lakehouse.
    """
    c = config.compliance
    return read_key(
        c.erasure_key_env, c.erasure_key_file, "compliance.erasure_key_file", base_dir, lake,
        create=create,
        missing=f"no erasure key: set the environment variable {c.erasure_key_env}, or "
                "compliance.erasure_key_file in scv.yaml (created on the first forget); "
                "keep it outside the lakehouse and never lose it")


def digest(key: bytes, kind: str, value: str) -> str:
    return hmac.new(key, f"{kind}\x1f{value}".encode("utf-8"), sha256).hexdigest()


def record_hash(key: bytes, source: str, record_id: str) -> str:
    return digest(key, "record", f"{source}:{record_id}")


# ---------------------------------------------------------------- finding the person

@dataclass
class Found:
    record_keys: set[str] = field(default_factory=set)  # '<source>:<id>'
    customer_ids: set[str] = field(default_factory=set)
    former_customer_ids: set[str] = field(default_factory=set)  # merged into theirs in earlier runs
    quarantine: dict[str, pa.Array] = field(default_factory=dict)  # source -> row mask
    # events sources holding events of the person's records -> (record id column, customer source)
    events: dict[str, tuple[str, str]] = field(default_factory=dict)

    def ids(self, source: str) -> list[str]:
        return sorted(k.split(":", 1)[1] for k in self.record_keys if k.split(":", 1)[0] == source)

    def sources(self) -> set[str]:
        return {k.split(":", 1)[0] for k in self.record_keys} | set(self.quarantine) | set(self.events)


def _phone_keys(column: pa.ChunkedArray) -> pa.ChunkedArray:
    digits = pc.replace_substring_regex(pc.cast(column, pa.string()), r"\D", "")
    return pc.utf8_slice_codeunits(digits, -10)


def _emails(column: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.utf8_lower(pc.utf8_trim_whitespace(pc.cast(column, pa.string())))


def _matches(column: pa.ChunkedArray, who: Identifier) -> pa.ChunkedArray:
    if who.email:
        return pc.fill_null(pc.equal(_emails(column), normalise_email(who.email)), False)
    return pc.fill_null(pc.equal(_phone_keys(column), phone_key(who.phone)), False)


def find(lake: Lakehouse, config: ProjectConfig, who: Identifier) -> Found:
    """The person's records, then every record of their customers."""
    found = Found()
    if lake.exists("silver/records") and who.kind in ("email", "phone", "record"):
        silver = lake.read("silver/records").to_table(columns=["record_key", "email", "phone"])
        if who.kind == "record":
            mask = pc.equal(silver["record_key"], f"{who.source}:{who.record_id}")
        else:
            mask = _matches(silver[who.kind], who)
        found.record_keys |= set(silver.filter(mask)["record_key"].to_pylist())
    for name, source in config.sources.items():
        if not lake.exists(f"quarantine/{name}"):
            continue
        q = lake.read_table(f"quarantine/{name}")
        if not q.num_rows:
            continue
        mask = pa.chunked_array([pa.array([False] * q.num_rows, pa.bool_())])
        if who.kind == "record" and who.source == name:
            mask = pc.fill_null(pc.equal(pc.cast(q["_record_id"], pa.string()), who.record_id), False)
        elif who.kind in ("email", "phone"):
            column = source.columns.get(who.kind)
            if column in q.column_names:
                mask = pc.or_(mask, _matches(q[column], who))
            needle = normalise_email(who.email) if who.email else phone_key(who.phone)
            raw_line = pc.cast(q["_raw_line"], pa.string())
            raw = pc.utf8_lower(raw_line) if who.email else _digits(raw_line)
            mask = pc.or_(mask, pc.fill_null(pc.match_substring(raw, needle), False))
        if pc.any(mask).as_py():
            found.quarantine[name] = mask
            found.record_keys |= {f"{name}:{i}" for i in q.filter(mask)["_record_id"].to_pylist() if i}
    inactive = _inactive_records(lake)
    found.customer_ids |= set(inactive.filter(pc.is_in(
        inactive["record_key"], _keys(sorted(found.record_keys))))["last_customer_id"].to_pylist())
    if lake.exists("gold/customer_xref"):
        xref = lake.read("gold/customer_xref").to_table(columns=["record_key", "customer_id"])
        if who.kind == "customer":
            found.customer_ids.add(who.customer_id)
        found.customer_ids |= set(xref.filter(pc.is_in(
            xref["record_key"], pa.array(sorted(found.record_keys), pa.string())))["customer_id"].to_pylist())
        cluster = xref.filter(pc.is_in(xref["customer_id"], pa.array(sorted(found.customer_ids), pa.string())))
        found.record_keys |= set(cluster["record_key"].to_pylist())
        found.customer_ids &= set(xref["customer_id"].to_pylist())
    if lake.exists(HISTORY) and found.customer_ids:
        found.former_customer_ids = _merged_into(lake.read_table(HISTORY), found.customer_ids)
    given = {who.customer_id} if who.kind == "customer" else set()  # a retired id lives on in inactive records
    owners = _keys(sorted(found.customer_ids | found.former_customer_ids | given))
    found.record_keys |= set(inactive.filter(pc.is_in(inactive["last_customer_id"], owners))["record_key"].to_pylist())
    found.events = {name: (s.record_id, s.record_of) for name, s in config.event_sources.items()
                    if found.ids(s.record_of)}
    return found


def _inactive_records(lake: Lakehouse) -> pa.Table:
    """Silver records gone from their source, with the customer they last belonged to."""
    schema = pa.schema([("record_key", pa.string()), ("last_customer_id", pa.string())])
    if not lake.exists("silver/records") or "last_customer_id" not in lake.read("silver/records").schema.names:
        return schema.empty_table()
    return lake.read("silver/records").to_table(
        columns=schema.names, filter=ds.field("last_customer_id").is_valid()).cast(schema)


def _merged_into(history: pa.Table, customer_ids: set[str]) -> set[str]:
    """The ids that were merged into these customers' ids, run after run: the same person's."""
    merges = history.filter(pc.equal(history["change"], MERGE))
    ids, former = set(customer_ids), set()
    while True:
        older = set(merges.filter(pc.is_in(merges["new_customer_id"], _keys(sorted(ids))))["old_customer_id"]
                    .to_pylist()) - ids
        if not older:
            return former
        ids |= older
        former |= older


def _digits(column: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.replace_substring_regex(column, r"\D", "")


# ---------------------------------------------------------------- what goes from each table

def _keys(values: list[str]) -> pa.Array:
    return pa.array(values, pa.string())


def removal_masks(lake: Lakehouse, found: Found) -> dict[str, Callable[[pa.Table], pa.ChunkedArray]]:
    """Table -> function of a table giving the rows to remove, for tables that hold the person."""
    keys = _keys(sorted(found.record_keys))
    masks = {}
    for source in sorted(found.sources()):
        ids = _keys(found.ids(source))
        masks[f"bronze/{source}"] = lambda t, ids=ids: pc.is_in(t["_record_id"], ids)
        extra = found.quarantine.get(source)
        masks[f"quarantine/{source}"] = lambda t, ids=ids, extra=extra: (
            pc.or_(pc.is_in(t["_record_id"], ids), extra) if extra is not None
            else pc.is_in(t["_record_id"], ids))
    for source, (column, owner) in found.events.items():  # the events of the person's records
        ids = _keys(found.ids(owner))
        for table in (f"bronze/{source}", f"quarantine/{source}"):
            masks[table] = lambda t, ids=ids, column=column, by_id=masks[table]: pc.or_(
                pc.fill_null(by_id(t), False), pc.is_in(pc.utf8_trim_whitespace(pc.cast(t[column], pa.string())), ids))
    customers = _keys(sorted(found.customer_ids))
    masks["silver/events"] = lambda t: pc.is_in(t["record_key"], keys)
    masks["gold/customer_metrics"] = lambda t: pc.is_in(t["customer_id"], customers)
    masks["silver/records"] = lambda t: pc.is_in(t["record_key"], keys)
    masks["silver/pairs"] = lambda t: pc.or_(pc.is_in(t["record_key_l"], keys), pc.is_in(t["record_key_r"], keys))
    masks["gold/customers"] = lambda t: pc.is_in(t["customer_id"], customers)
    masks["gold/customer_xref"] = lambda t: pc.or_(pc.is_in(t["record_key"], keys),
                                                   pc.is_in(t["customer_id"], customers))
    every_id = _keys(sorted(found.customer_ids | found.former_customer_ids))
    masks[HISTORY] = lambda t: pc.or_(pc.is_in(t["old_customer_id"], every_id),
                                      pc.is_in(t["new_customer_id"], every_id))
    masks[ANALYTICS] = lambda t: pc.is_in(t["customer_id"], customers)
    masks[LINEAGE] = lambda t: pc.or_(pc.is_in(t["customer_id"], customers), pc.is_in(t["record_key"], keys))
    for view in (t for t in lake.tables() if t.startswith("gold/customers_")):  # golden.views, past ones too
        masks.setdefault(view, lambda t: pc.is_in(t["customer_id"], customers))
    masks[VAULT_CUSTOMERS] = lambda t: pc.is_in(t["customer_id"], customers)
    masks[VAULT_RECORDS] = lambda t: pc.is_in(t["record_key"], keys)
    masks[RELEASES] = lambda t: pc.is_in(pc.binary_join_element_wise(t["source"], t["record_id"], ":"), keys)
    return {t: m for t, m in masks.items() if lake.exists(t)}


def _count(lake: Lakehouse, table: str, mask) -> int:
    t = lake.read_table(table)
    return int(pc.sum(pc.fill_null(mask(t), False).cast(pa.int64())).as_py() or 0)


def _rewrite(lake: Lakehouse, table: str, mask, request_id: str) -> None:
    t = lake.read_table(table)
    keep = pc.invert(pc.fill_null(mask(t), False))
    lake.write(table, t.filter(keep), request_id)


def _person_values(lake: Lakehouse, masks: dict, who: Identifier) -> set[str]:
    """Every value of the person's source rows, to find them in audit samples and profiles."""
    values = set(who.searchable())
    for table, mask in masks.items():
        if table.split("/")[0] in ("bronze", "quarantine"):
            t = lake.read_table(table)
            for row in t.filter(pc.fill_null(mask(t), False)).to_pylist():
                values |= {str(v) for k, v in row.items() if v is not None and not k.startswith("_")
                           and str(v).strip()}
    return values


def _redact_audit(lake: Lakehouse, sources: set[str], values: set[str],
                  request_id: str) -> dict[str, int]:
    """Rows of the audit tables that could quote the person, with those values taken out.

    Profiles keep counts, lengths and patterns but lose the min/max/median and top values
    of the affected sources' columns (only non-personal columns have them); validation
    samples and observed values that hold one of the person's values are blanked.
    """
    changed = {}
    if lake.exists("audit/profiles"):
        rows = lake.read_table("audit/profiles").to_pylist()
        n = 0
        for r in rows:
            if r["source"] in sources and not r["personal"] and (r["min"] or r["max"] or r["top_values"]):
                tops = json.loads(r["top_values"] or "[]")
                r.update(min=None, max=None, median=None,
                         top_values=json.dumps([dict(t, value=None) for t in tops]))
                n += 1
        if n:
            lake.write("audit/profiles", pa.Table.from_pylist(rows, PROFILE_SCHEMA), request_id)
            changed["audit/profiles"] = n
    if lake.exists("audit/validation_results"):
        rows = lake.read_table("audit/validation_results").to_pylist()
        n = 0
        for r in rows:
            sample = json.loads(r["unexpected_sample"] or "[]")
            kept = [v for v in sample if str(v) not in values]
            hit = len(kept) != len(sample) or any(v in (r["observed_value"] or "") for v in values if len(v) > 3)
            if hit:
                r["unexpected_sample"] = json.dumps(kept)
                if any(v in (r["observed_value"] or "") for v in values if len(v) > 3):
                    r["observed_value"] = REDACTED
                n += 1
        if n:
            lake.write("audit/validation_results", pa.Table.from_pylist(rows, VALIDATION_SCHEMA), request_id)
            changed["audit/validation_results"] = n
    return changed


def _rerender_reports(lake: Lakehouse) -> int:
    """Redraw every quality report from the redacted audit tables; drop those that cannot be."""
    from scv.report import write_report

    runs = {f.split("/")[1] for f in lake.files("reports") if f.count("/") >= 2} - {"latest"}
    order = []
    if lake.exists("audit/runs"):
        t = lake.read("audit/runs").to_table(columns=["run_id", "started_at"]).sort_by("started_at")
        order = [r for r in t["run_id"].to_pylist() if r in runs]
    for run_id in sorted(runs - set(order)):
        lake.delete_dir(f"reports/{run_id}")
    for run_id in order:  # oldest first: reports/latest ends as the newest run's
        write_report(lake, run_id)
    if not order:
        lake.delete_dir("reports/latest")
    return len(runs)


# ---------------------------------------------------------------- the request

@dataclass(frozen=True)
class Receipt:
    request_id: str
    dry_run: bool
    records: int
    customers: int
    removed: dict[str, int]  # table (or reports) -> rows removed or redacted
    verified: bool | None = None
    problems: list[str] = field(default_factory=list)  # table names and file paths, no values


def new_request_id(now: datetime) -> str:
    return "erasure-" + now.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def forget(lake: Lakehouse, config: ProjectConfig, base_dir: Path, who: Identifier,
           dry_run: bool = False) -> Receipt:
    now = datetime.now(timezone.utc)
    request_id = new_request_id(now)
    found = find(lake, config, who)
    if not found.record_keys and not found.customer_ids:
        raise NotFound(f"no record matches the {who.kind} given; nothing was erased")
    masks = removal_masks(lake, found)
    counts = {t: _count(lake, t, m) for t, m in masks.items()}
    counts = {t: n for t, n in counts.items() if n}
    if dry_run:
        return Receipt(request_id, True, len(found.record_keys), len(found.customer_ids), counts)
    key = erasure_key(config, base_dir, lake, create=True)
    values = _person_values(lake, masks, who)
    for table in counts:
        _rewrite(lake, table, masks[table], request_id)
    removed = dict(counts)
    removed |= _redact_audit(lake, found.sources(), values, request_id)
    _register(lake, key, who, found, removed, request_id, now)
    for table in lake.tables():
        if table.split("/")[0] in PERSONAL_LAYERS or table in removed or table == RELEASES:
            lake.purge_history(table, request_id)
    removed["reports"] = _rerender_reports(lake)
    problems = verify(lake, found, who)
    return Receipt(request_id, False, len(found.record_keys), len(found.customer_ids), removed,
                   not problems, problems)


def _register(lake: Lakehouse, key: bytes, who: Identifier, found: Found, removed: dict[str, int],
              request_id: str, now: datetime) -> None:
    row = {
        "request_id": request_id, "erased_at": now, "identified_by": who.kind,
        "email_hashes": [digest(key, "email", normalise_email(who.email))] if who.email else [],
        "phone_hashes": [digest(key, "phone", phone_key(who.phone))] if who.phone else [],
        "record_hashes": sorted(record_hash(key, *k.split(":", 1)) for k in found.record_keys),
        "records": len(found.record_keys), "removed": json.dumps(removed, sort_keys=True),
    }
    lake.write(REGISTER, pa.Table.from_pylist([row], REGISTER_SCHEMA), request_id, mode="append")


def verify(lake: Lakehouse, found: Found, who: Identifier) -> list[str]:
    """Re-read every table that held the person; search every file for the values given."""
    problems = []
    for table, mask in removal_masks(lake, found).items():
        if _count(lake, table, mask):
            problems.append(f"{table} still holds the person's records")
    needles = [v.encode("utf-8") for v in who.searchable()]
    for name in lake.files() if needles else []:
        data = lake.read_file(name)
        if name.endswith(".parquet") and "_delta_log" in name:  # checkpoints: compressed
            data += str(pq.read_table(pa.BufferReader(data)).to_pylist()).encode("utf-8")
        if any(n in data or n in data.lower() for n in needles):
            problems.append(f"{name} holds the identifier")
    return problems


# ---------------------------------------------------------------- keeping them out

@dataclass(frozen=True)
class Tombstones:
    key: bytes
    emails: frozenset[str]
    phones: frozenset[str]
    records: frozenset[str]

    @classmethod
    def load(cls, lake: Lakehouse, config: ProjectConfig, base_dir: Path) -> Tombstones | None:
        """The register's hashes, or None when nobody has been forgotten."""
        if not lake.exists(REGISTER):
            return None
        t = lake.read_table(REGISTER)
        if not t.num_rows:
            return None
        flat = {c: frozenset(pc.list_flatten(t[c]).to_pylist())
                for c in ("email_hashes", "phone_hashes", "record_hashes")}
        return cls(erasure_key(config, base_dir, lake), flat["email_hashes"], flat["phone_hashes"],
                   flat["record_hashes"])

    def suppress(self, engine: Engine, name: str, email: str | None, phone: str | None,
                 table: str, into: str, owner: tuple[str, str] | None = None) -> int:
        """Engine table `into`: the rows of `table` that match no tombstone; returns rows dropped.

        `owner` is an events source's (record id column, customer source): events of a
        forgotten record are dropped too.

        The distinct ids, emails and phones are hashed here (neither engine has HMAC) and
        the raw values that match go back as a small table, so the filter is plain SQL.
        """
        q = engine.dialect.quote
        checks = [("_record_id", lambda v: record_hash(self.key, name, v) in self.records)]
        if email:
            checks.append((email, lambda v: digest(self.key, "email", normalise_email(v)) in self.emails))
        if phone:
            checks.append((phone, lambda v: bool(phone_key(v)) and digest(self.key, "phone", phone_key(v)) in self.phones))
        if owner:
            checks.append((owner[0], lambda v: record_hash(self.key, owner[1], v.strip()) in self.records))
        hits = {"erased_column": [], "erased_value": []}
        for column, matches in checks:
            for (value,) in engine.rows(f"select distinct cast({q(column)} as string) from {q(table)} "
                                        f"where {q(column)} is not null"):
                if matches(value):
                    hits["erased_column"].append(column)
                    hits["erased_value"].append(value)
        if not hits["erased_value"]:
            engine.create(into, f"select * from {q(table)}")
            return 0
        engine.read_arrow(f"erased_{name}", pa.table(hits, pa.schema(
            [("erased_column", pa.string()), ("erased_value", pa.string())])))
        lit = engine.dialect.literal
        erased = " or ".join(
            f"cast({q(c)} as string) in (select erased_value from {q('erased_' + name)} "
            f"where erased_column = {lit(c)})"
            for c, _ in checks)
        engine.create(into, f"select * from {q(table)} where not coalesce({erased}, false)")
        engine.drop(f"erased_{name}")
        return engine.count(table) - engine.count(into)
