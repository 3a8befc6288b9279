"""Presets: the typed, frozen settings that say how to read a layout and how to match it.

A preset is a JSON file naming the column mapping, the comparisons, the blocking rules and the
thresholds. Built-in presets live in `matcher/presets/`; `load_preset` takes a name or a path.
All problems in a file are reported together in one `SettingsError`.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from features.dates import DATE_PATTERNS
from matcher.errors import SettingsError
from matcher.schema import CANONICAL_COLUMNS

ComparisonKind = Literal[
    "given_name", "middle_name", "surname", "birth_date", "exact", "string", "parents",
    "birth_place", "local_id", "age",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Join(_Frozen):
    """Several source columns joined with a space into one field (an address line)."""

    join: tuple[str, ...] = Field(min_length=1)

    def __str__(self) -> str:
        return f"join of {', '.join(self.join)}"


class Where(_Frozen):
    """A source column's value on the rows whose other columns hold one of the listed values
    (case and surrounding spaces ignored), missing elsewhere (an SSA record's event date is a
    birth date on 'creation' events only)."""

    column: str
    where: dict[str, tuple[str, ...]] = Field(min_length=1)

    def __str__(self) -> str:
        conditions = " and ".join(f"{c} in {list(v)}" for c, v in self.where.items())
        return f"{self.column} where {conditions}"


ColumnSource = (str | Annotated[tuple[str | Join | Where, ...], Field(min_length=1)] | Join
                | Where)
"""A source column; a tuple lists alternatives, columns, joins or conditional columns (the
first present in the file is used: a join is present when any of its columns is, a `Where`
when its column and the ones it tests are)."""


THRESHOLD_KINDS = ("given_name", "surname", "string")
"""Comparison kinds with Jaro-Winkler levels set by `thresholds`."""


class ComparisonSpec(_Frozen):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    kind: ComparisonKind
    column: str | None = None
    term_frequency: bool = False
    identifier: bool = False
    thresholds: tuple[float, ...] = (0.92, 0.8)

    @model_validator(mode="after")
    def _column_for_generic_kinds(self) -> ComparisonSpec:
        if self.kind in ("exact", "string", "age") and not self.column:
            raise ValueError(f"comparison '{self.name}' of kind '{self.kind}' needs a 'column'")
        return self

    @model_validator(mode="after")
    def _usable_thresholds(self) -> ComparisonSpec:
        """Only the kinds that read `thresholds` check them (other kinds ignore the option)."""
        if self.kind not in THRESHOLD_KINDS:
            return self
        ordered = list(self.thresholds) == sorted(set(self.thresholds), reverse=True)
        if not self.thresholds or not ordered or any(not 0 < t <= 1 for t in self.thresholds):
            raise ValueError(f"comparison '{self.name}': 'thresholds' must be similarities in "
                             f"(0, 1], highest first; got {list(self.thresholds)}")
        return self


class BlockingRuleSpec(_Frozen):
    name: str
    keys: tuple[str | Annotated[tuple[str, ...], Field(min_length=1)], ...] = Field(
        min_length=1)
    """Prepared columns the records must agree on; a list within is a group of columns
    whose values are pooled: records sharing any value of it agree (`matcher.blocking`)."""
    max_block_size: int | None = Field(None, ge=2)
    """Overrides the preset-wide cap: rules without a birth date key meet common names."""


class Thresholds(_Frozen):
    upper: float = Field(0.95, gt=0, lt=1)
    lower: float = Field(0.5, gt=0, lt=1)

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if self.lower >= self.upper:
            raise ValueError(f"'lower' must be below 'upper'; got {self.lower} >= {self.upper}")
        return self


class Settings(_Frozen):
    name: str
    description: str = ""
    columns: dict[str, ColumnSource] = Field(default_factory=dict)
    required: tuple[str, ...] = ("record_id",)
    date_formats: tuple[str, ...] = ("iso", "yyyymmdd", "mm/dd/yyyy")
    invalid_date: Literal["reject", "keep"] = "reject"
    ocr_digits: bool = False
    """Dates come from scanned forms: read letters OCR confuses with digits as those digits."""
    reject_absurd: bool = True
    comparisons: tuple[ComparisonSpec, ...]
    blocking_rules: tuple[BlockingRuleSpec, ...]
    thresholds: Thresholds = Thresholds(upper=0.95, lower=0.5)
    multiple_birth_guard: bool = True
    """Never auto-link same birth date + family + different given name (twins, triplets)."""
    max_block_size: int = Field(1000, ge=2)
    u_sample_pairs: int = Field(1_000_000, ge=1000)
    em_iterations: int = Field(25, ge=1)
    seed: int = 0

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        problems = [f"unknown date format {f!r}; expected one of {sorted(DATE_PATTERNS)}"
                    for f in self.date_formats if f not in DATE_PATTERNS]
        names = [c.name for c in self.comparisons]
        problems += [f"comparison name {n!r} is used twice" for n in set(names)
                     if names.count(n) > 1]
        if self.columns:
            problems += [f"required field {f!r} is not mapped in 'columns'"
                         for f in self.required if f != "record_id" and f not in self.columns]
        else:
            problems += [f"required field {f!r} is not a canonical field"
                         for f in self.required if f not in CANONICAL_COLUMNS]
        rules = [r.name for r in self.blocking_rules]
        problems += [f"blocking rule name {n!r} is used twice" for n in set(rules)
                     if rules.count(n) > 1]
        if problems:
            raise ValueError("\n  ".join(problems))
        return self

    def field_names(self) -> list[str]:
        """Every field the preset reads (canonical columns and extra evidence fields)."""
        return list(self.columns)

    @property
    def extra_fields(self) -> tuple[str, ...]:
        """The fields the preset maps beyond the canonical columns (addresses, an SSN, a
        second birth date): evidence for matching, kept by the store beside the record."""
        return tuple(f for f in self.columns if f not in CANONICAL_COLUMNS)


BUILTIN_PRESETS = ("msix", "febrl", "pseudopeople")


def builtin_preset_path(name: str) -> Path:
    return Path(str(resources.files("matcher") / "presets" / f"{name}.json"))


def parse_settings(data: object, origin: str = "<settings>") -> Settings:
    """Validate settings, reporting every problem at once."""
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        lines = [f"  {'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}"
                 for e in exc.errors()]
        raise SettingsError(f"invalid preset {origin}:\n" + "\n".join(lines)) from None


def load_preset(name_or_path: str | Path = "msix") -> Settings:
    """A built-in preset by name (`msix`, `febrl`, `pseudopeople`) or a JSON file by path."""
    text_name = str(name_or_path)
    path = builtin_preset_path(text_name) if text_name in BUILTIN_PRESETS else Path(text_name)
    if not path.is_file():
        raise SettingsError(
            f"'preset' must be one of {', '.join(BUILTIN_PRESETS)} or a JSON file; "
            f"got {text_name!r}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SettingsError(f"cannot read preset {path}: {exc}") from None
    return parse_settings(data, str(path))
