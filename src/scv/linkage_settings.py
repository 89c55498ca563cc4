"""Linkage settings scv did not derive: a trained model reused as it is (`linkage.model`)
or an expert's Splink settings (`linkage.splink`).

Both are written in Splink's own settings format, so a model or a comparison written for
Splink elsewhere works unchanged. Before Splink runs them they are adapted to scv's inputs
(record key, source, link type) and checked against the columns linkage compares, so a
mistake is one line naming the setting instead of a failed SQL statement deep in Splink.
"""

from __future__ import annotations

import dataclasses
import json
import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scv.errors import ConfigError, ScvError

if TYPE_CHECKING:
    from splink import Linker, SettingsCreator

    from scv.pipeline import Run

CONTROLLED = {  # Splink settings scv sets itself, and why
    "unique_id_column_name": "linkage joins on scv's record_key",
    "source_dataset_column_name": "linkage names sources by scv's source column",
    "sql_dialect": "the project's engine decides it",
    "linker_uid": "each run gets its own",
}
LINK_TYPES = ("dedupe_only", "link_and_dedupe", "link_only")
PRIOR = "probability_two_random_records_match"


def splink_keys() -> list[str]:
    """The top-level keys of Splink's settings dictionary that scv leaves to the user."""
    from splink import SettingsCreator

    return [f.name for f in dataclasses.fields(SettingsCreator) if f.name not in CONTROLLED]


def check_override(splink: dict[str, Any]) -> None:
    """What can be checked without data: known keys and the shape of the lists (ValueError)."""
    from scv.config import did_you_mean

    allowed = splink_keys()
    for key, value in splink.items():
        if key in CONTROLLED:
            raise ValueError(f"'{key}' is set by scv ({CONTROLLED[key]}); remove it")
        if key not in allowed:
            raise ValueError(f"'{key}' is not a Splink setting{did_you_mean(key, allowed)}; "
                             f"use one of: {', '.join(allowed)}")
        if key == "comparisons" and not (
                isinstance(value, list) and value and all(isinstance(c, dict) for c in value)):
            raise ValueError("comparisons: give a list of Splink comparison mappings "
                             "(output_column_name, comparison_levels), as a saved model holds them")
        if key == "blocking_rules_to_generate_predictions" and not (
                isinstance(value, list) and value and all(isinstance(r, (str, dict)) for r in value)):
            raise ValueError("blocking_rules_to_generate_predictions: give a list of SQL conditions "
                             "(l.email = r.email) or mappings with blocking_rule")
        if key == "link_type" and value not in LINK_TYPES:
            raise ValueError(f"link_type: '{value}' is not one of {', '.join(LINK_TYPES)}")


def model_file(path: str, base: Path) -> Path:
    return Path(path) if Path(path).is_absolute() else base / path


def read_model(path: str, base: Path) -> dict:
    """A Splink model JSON; a ConfigError says what is wrong with the file."""
    file = model_file(path, base)
    where = "linkage.model"
    if not file.is_file():
        raise ConfigError(f"{where}: no file '{path}' (relative to {base}); give the path of a model JSON, "
                          "e.g. lakehouse/models/<run id>.json, or remove linkage.model to train one")
    try:
        model = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ConfigError(f"{where}: '{path}' is not JSON ({err}); give a model JSON as scv saves it "
                          "in the lakehouse's models/ folder") from None
    levels = [level for c in _list(model, "comparisons") for level in _list(c, "comparison_levels")]
    if not levels:
        raise ConfigError(f"{where}: '{path}' is not a Splink model: it has no comparisons with "
                          "comparison_levels; give a model JSON as scv or Splink's save_model_to_json writes it")
    if not any("m_probability" in level or "u_probability" in level for level in levels):
        raise ConfigError(f"{where}: '{path}' holds Splink settings but no trained m or u probabilities; "
                          "to train a model with them, give them under linkage.splink instead")
    return model


def _list(parent, key: str) -> list[dict]:
    found = parent.get(key) if isinstance(parent, dict) else None
    return [x for x in found if isinstance(x, dict)] if isinstance(found, list) else []


@dataclass(frozen=True)
class Given:
    """The settings linkage runs with, and what was given rather than derived."""

    settings: SettingsCreator
    origin: str | None = None  # the config key the settings come from; None when scv derived them
    reused: bool = False  # a trained model: nothing is trained
    prior: float | None = None  # a prior that was given: neither training nor calibration moves it

    def without(self, names: set[str]) -> Given:
        """The same settings less the comparisons of those names."""
        def name(c) -> str | None:
            return c.get("output_column_name") if isinstance(c, dict) else c.create_output_column_name()

        kept = [c for c in self.settings.comparisons if name(c) not in names]
        return dataclasses.replace(self, settings=dataclasses.replace(self.settings, comparisons=kept))

    def hold_prior(self, linker: Linker) -> None:
        if self.prior is not None:
            linker._settings_obj._probability_two_random_records_match = self.prior


def given_settings(run: Run, derived: SettingsCreator, records, absent: set[str]) -> Given:
    """scv's derived settings, or a reused model or an override adapted and checked.

    `records` is Splink's input table (`link.register_input`); `absent` the linkable
    fields no record holds.
    """
    linkage = run.config.linkage
    run.linkage_facts.update(model_source="reused" if linkage.model else "trained")
    if not linkage.model and not linkage.splink:
        return Given(derived)
    if linkage.splink:
        run.linkage_facts.update(settings_overridden=sorted(linkage.splink))
    origin = "linkage.model" if linkage.model else "linkage.splink"
    dialect = run.engine.splink_api().sql_dialect
    with blamed(origin, detail=True):
        settings = (_reused(run, derived, dialect.sql_dialect_str) if linkage.model
                    else dataclasses.replace(derived, **linkage.splink))
        compared = _compared_columns(settings.create_settings_dict(dialect.sql_dialect_str), dialect.sqlglot_dialect)
    columns = [c.unquote().name for c in records.columns]
    _check_columns(run, origin, compared, columns, absent)
    prior = settings.probability_two_random_records_match if linkage.model or PRIOR in linkage.splink else None
    if prior is not None:
        run.linkage_facts.update(prior=prior)
    return Given(settings, origin, reused=bool(linkage.model), prior=prior)


def _reused(run: Run, derived: SettingsCreator, dialect: str) -> SettingsCreator:
    """The model of linkage.model, if it speaks the engine's SQL, adapted to scv's inputs."""
    from splink import SettingsCreator

    path = run.config.linkage.model
    model = read_model(path, run.base_dir)
    trained_on = model.get("sql_dialect", dialect)
    if trained_on != dialect:
        raise ConfigError(
            f"linkage.model: '{path}' was trained on {trained_on} and its SQL is {trained_on}'s, but the "
            f"engine is {dialect}: run with engine {trained_on}, or remove linkage.model to train on {dialect} "
            "and reuse that model")
    run.linkage_facts.update(model_path=path)
    return SettingsCreator.from_path_or_dict(_adapted(model, derived, run.config.linkage.splink))


def _adapted(model: dict, derived: SettingsCreator, override: dict) -> dict:
    """The model with scv's key, source column and link type, retaining no extra columns,
    and the override on top."""
    adapted = {k: v for k, v in model.items() if k not in ("linker_uid", "sql_dialect")}
    adapted.update(
        link_type=derived.link_type,
        unique_id_column_name=derived.unique_id_column_name,
        source_dataset_column_name=derived.source_dataset_column_name,
        retain_matching_columns=derived.retain_matching_columns,
        retain_intermediate_calculation_columns=derived.retain_intermediate_calculation_columns,
        additional_columns_to_retain=[],
    )
    return adapted | override


def _compared_columns(settings: dict, sqlglot_dialect: str) -> set[str]:
    """Input columns the comparisons and blocking rules read, as Splink finds them in the SQL."""
    from splink.internals.parse_sql import get_columns_used_from_sql

    used = set()
    for comparison in settings["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level["sql_condition"].strip().upper() != "ELSE":
                used |= {re.sub(r"_[lr]$", "", c, flags=re.IGNORECASE)
                         for c in get_columns_used_from_sql(level["sql_condition"], sqlglot_dialect)}
            if level.get("tf_adjustment_column"):
                used.add(level["tf_adjustment_column"])
    for rule in settings["blocking_rules_to_generate_predictions"]:
        used |= set(get_columns_used_from_sql(rule["blocking_rule"], sqlglot_dialect))
    return used


def _check_columns(run: Run, origin: str, compared: set[str], columns: list[str], absent: set[str]) -> None:
    """A column the input lacks stops the run; one that no record fills is a warning."""
    missing = sorted(compared - set(columns))
    if missing:
        fix = ("rename them in the model file to the input's, or remove linkage.model to train a model on this data"
               if origin == "linkage.model" else "write the comparisons and blocking rules over the input's columns")
        raise ConfigError(f"{origin}: compares columns the linkage input does not have: {', '.join(missing)}; "
                          f"the input has {', '.join(columns)}: {fix}")
    for column in sorted(compared & absent):
        run.warn(f"{origin} compares {column}, which no record holds: it adds no evidence "
                 "(map the field in sources to use it)")


@contextmanager
def blamed(origin: str | None, detail: bool = False):
    """Splink failing on settings that were given is a config error naming them.

    `detail` quotes Splink's message: only where it can hold nothing but the settings,
    as an error raised once data is read may quote values.
    """
    try:
        yield
    except ScvError:
        raise
    except Exception as err:
        if origin is None:
            raise
        said = " ".join(str(err).split())[:300] if detail else ""
        said = f"{type(err).__name__}: {said}" if said else f"{type(err).__name__}; --debug shows it"
        raise ConfigError(f"{origin}: Splink cannot run these settings ({said}); "
                          "check them against Splink's settings reference") from err
