"""docs/presets.md against the code: its reference tables, and its worked example run as written.

The tables are parsed from the Markdown (a section is found by its heading); each claim they
make is checked against what the code does, so an edit on either side that makes them
disagree fails here.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import polars as pl
import pytest
from pydantic import BaseModel, ValidationError
from typer.testing import CliRunner

from features.comparisons import Comparison, build_comparison
from features.dates import DATE_PATTERNS, date_digits
from matcher.blocking import BlockingRule, rule_pairs
from matcher.cli import app
from matcher.errors import SettingsError
from matcher.ingest import read_inputs
from matcher.pipeline import Linker
from matcher.schema import CANONICAL_COLUMNS
from matcher.settings import ComparisonKind, ComparisonSpec, Settings, load_preset, parse_settings
from matcher.training import learning_order

DOC = Path(__file__).resolve().parents[1] / "docs" / "presets.md"
EXAMPLE = "## Worked example: a state export"
RUNNING = "### Running it"
OPTIONS = ("term_frequency", "identifier", "thresholds")


# --- reading the document ----------------------------------------------------------------------


def doc_text() -> str:
    return DOC.read_text(encoding="utf-8")


def section(heading: str) -> str:
    """The text under `heading` (a whole line) up to the next heading of its level or above."""
    lines = doc_text().splitlines()
    assert heading in lines, f"docs/presets.md has no heading {heading!r}"
    start = lines.index(heading) + 1
    level = len(heading) - len(heading.lstrip("#"))
    end = next((i for i in range(start, len(lines))
                if re.match(rf"^#{{1,{level}}} ", lines[i])), len(lines))
    return "\n".join(lines[start:end])


def table(heading: str) -> list[list[str]]:
    """The cells of the first Markdown table under `heading`, header and rule left out."""
    rows = []
    for line in section(heading).splitlines():
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif rows:
            break
    assert len(rows) > 2, f"no table under {heading!r}"
    return rows[2:]


def code(cell: str) -> list[str]:
    """The `code` spans of a cell, in order."""
    return re.findall(r"`([^`]+)`", cell)


def fenced(heading: str, language: str, index: int = 0) -> str:
    """The `index`-th ```language block under `heading`."""
    blocks = re.findall(rf"^```{language}\n(.*?)^```$", section(heading), re.M | re.S)
    assert len(blocks) > index, f"no ```{language} block #{index} under {heading!r}"
    return str(blocks[index])


# --- the reference tables ----------------------------------------------------------------------


def as_json(value: Any) -> Any:
    """A default as it would be written in JSON (models as objects, tuples as lists)."""
    if isinstance(value, BaseModel):
        value = value.model_dump()
    return json.loads(json.dumps(value))


def test_top_level_table_names_every_settings_key_with_its_default() -> None:
    rows = table("## Top-level keys")
    keys = [code(row[0])[0] for row in rows]
    assert len(keys) == len(set(keys))
    assert set(keys) == set(Settings.model_fields), "the table and Settings disagree"
    for key, (_, _, default, _) in zip(keys, rows, strict=True):
        field = Settings.model_fields[key]
        if default == "required":
            assert field.is_required(), key
        else:
            assert not field.is_required(), key
            written = json.loads(code(default)[0])
            assert written == as_json(field.get_default(call_default_factory=True)), key


def test_unknown_top_level_keys_are_refused() -> None:
    data = json.loads(example_json())
    with pytest.raises(SettingsError, match="colums"):
        parse_settings(data | {"colums": {}})


def test_canonical_fields_are_the_schema() -> None:
    paragraph = section("### Canonical fields").strip().split("\n\n")[0]
    assert code(paragraph) == list(CANONICAL_COLUMNS)


def test_date_formats_table_reads_its_examples() -> None:
    rows = table("### Date formats")
    names = [code(row[0])[0] for row in rows]
    assert sorted(names) == sorted(DATE_PATTERNS)
    for name, (_, _, example) in zip(names, rows, strict=True):
        read = pl.select(date_digits(pl.lit(code(example)[0]), (name,))).item()
        assert read == "20120314", name


def comparison_of(kind: str, **options: Any) -> Comparison:
    column = "x_age" if kind == "age" else "sex"
    return build_comparison("x", kind, column, **options)


def honoured(kind: str, option: str) -> bool:
    """Setting the option changes the comparison the kind builds."""
    if option == "term_frequency":
        def tf(c: Comparison) -> set[str | None]:
            return {level.tf_column for level in c.levels}
        return tf(comparison_of(kind, term_frequency=True)) != tf(comparison_of(kind))
    if option == "identifier":
        return comparison_of(kind, identifier=True).identifier != comparison_of(kind).identifier
    return (comparison_of(kind, thresholds=(0.9, 0.7)).labels()
            != comparison_of(kind, thresholds=(0.92, 0.8)).labels())


def test_comparison_kinds_table_says_which_need_a_column_and_which_options_count() -> None:
    rows = table("### Comparison kinds")
    kinds = [code(row[0])[0] for row in rows]
    assert sorted(kinds) == sorted(get_args(ComparisonKind))
    for kind, (_, _, column, options) in zip(kinds, rows, strict=True):
        assert column in ("required", "no"), kind
        if column == "required":
            with pytest.raises(ValidationError, match="needs a 'column'"):
                ComparisonSpec(name="x", kind=kind)  # type: ignore[arg-type]
        else:
            ComparisonSpec(name="x", kind=kind)  # type: ignore[arg-type]
        documented = {o for o in code(options) if o in OPTIONS}
        assert documented == {o for o in OPTIONS if honoured(kind, o)}, kind


def documented_keys() -> list[str]:
    return [c for row in table("### Prepared key columns") for c in code(row[0])]


FULL_RECORD = {
    "record_id": "r1", "state": "TX", "source_system": "SYS", "local_student_id": "A5531",
    "first_name": "Juan Carlos", "middle_name": "Jose", "last_name_1": "De la Cruz",
    "last_name_2": "Lopez", "suffix": "Jr", "sex": "Male", "birth_date": "2012-03-14",
    "multiple_birth_flag": "Yes", "birth_city": "Oaxaca", "birth_state": "Texas",
    "birth_country": "Mexico", "parent1_first_name": "Pepe", "parent1_last_name": "Cruz",
    "parent2_first_name": "Rosa", "parent2_last_name": "Lopez",
    "enrollment_date": "2020-08-20", "qualifying_arrival_date": "2020-08-01", "grade": "03"}


def test_prepared_key_columns_exist_and_pair_identical_records() -> None:
    assert set(FULL_RECORD) == set(CANONICAL_COLUMNS)
    keys = documented_keys()
    assert len(keys) == len(set(keys)) > 10
    records = pl.DataFrame([FULL_RECORD, FULL_RECORD | {"record_id": "r2"}],
                           schema=dict.fromkeys(CANONICAL_COLUMNS, pl.String))
    prepared = Linker(load_preset("msix")).prepare(records)
    missing = [k for k in keys if k not in prepared.columns]
    assert not missing, f"documented keys that prepare does not make: {missing}"
    for key in keys:
        assert prepared[key].null_count() == 0, key
        pairs, _, _ = rule_pairs(prepared, BlockingRule(key, (key,)), False, 1000)
        assert len(pairs) == 1, key


# --- the worked example ------------------------------------------------------------------------


def example_json() -> str:
    return fenced(EXAMPLE, "json")


def example_csv() -> str:
    return fenced(EXAMPLE, "csv")


def test_example_preset_loads_and_uses_documented_keys(tmp_path: Path) -> None:
    path = tmp_path / "state_export.json"
    path.write_text(example_json(), encoding="utf-8")
    settings = load_preset(path)
    assert settings.date_formats == ("mm/dd/yyyy",)
    header = example_csv().splitlines()[0].split(",")
    sources = [s for source in settings.columns.values()
               for s in ((source,) if isinstance(source, str) else source)]
    assert all(s in header or s == "MaternalLastName" for s in sources)
    keys = documented_keys()
    used = BlockingRule("all", tuple(k for r in settings.blocking_rules for k in r.keys))
    assert set(used.columns()) <= set(keys)


def test_identifier_rules_are_learned_first_wherever_they_are_listed(tmp_path: Path) -> None:
    data = json.loads(example_json())
    rules = data["blocking_rules"]
    moved = [*rules[1:], rules[0]]  # the state id rule last
    assert [r["keys"] for r in rules if r["name"] == "state_local_id"] == [["lsid"]]
    linker = Linker(parse_settings(data | {"blocking_rules": moved}))
    order = learning_order(linker)
    assert order == [len(moved) - 1, *range(len(moved) - 1)]


@pytest.fixture(scope="module")
def example_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The example preset and export written where the doc's command expects them, and the
    command run there as written."""
    folder = tmp_path_factory.mktemp("example")
    (folder / "state_export.json").write_text(example_json(), encoding="utf-8")
    (folder / "state_export.csv").write_text(example_csv(), encoding="utf-8")
    argv = shlex.split(fenced(RUNNING, "bash"))
    assert argv[:2] == ["studentlink", "link"]
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        result = CliRunner().invoke(app, argv[1:])
    assert result.exit_code == 0, result.output
    yield folder / argv[argv.index("--out") + 1]


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_example_rejects_the_bad_date_as_documented(example_run: Path) -> None:
    errors = read_csv((example_run / "errors.csv").read_text(encoding="utf-8"))
    assert errors == read_csv(fenced(RUNNING, "csv"))
    assert [(e["record_id"], e["field"], e["row"]) for e in errors] == [
        ("FL-3001", "birth_date", "7")]
    assert "13/45/2011" in errors[0]["reason"]


def test_example_links_the_two_spellings_and_nothing_else(example_run: Path) -> None:
    identities = dict(csv.reader(io.StringIO(
        (example_run / "identities.csv").read_text(encoding="utf-8"))))
    identities.pop("record_id")
    assert "FL-3001" not in identities
    assert identities["TX-1001"] == identities["CA-2001"]
    others = [v for k, v in identities.items() if k != "CA-2001"]
    assert len(set(others)) == len(others), "two different children share an identity"
    stated = re.search(r"make (\d+) identities", section(RUNNING))
    assert stated is not None
    assert len(set(identities.values())) == int(stated.group(1))
    summary = json.loads((example_run / "summary.json").read_text(encoding="utf-8"))
    assert summary["preset"] == json.loads(example_json())["name"]
    assert (summary["records_in"], summary["records_rejected"]) == (8, 1)


def test_example_compares_the_twins_and_keeps_them_apart(tmp_path: Path) -> None:
    source = tmp_path / "state_export.csv"
    source.write_text(example_csv(), encoding="utf-8")
    preset = tmp_path / "state_export.json"
    preset.write_text(example_json(), encoding="utf-8")
    settings = load_preset(preset)
    ingest = read_inputs([source], settings)
    assert ingest.errors["record_id"].to_list() == ["FL-3001"]
    result = Linker(settings).link(ingest.records)
    compared = {frozenset(p) for p in result.pairs.select("record_id_l", "record_id_r").rows()}
    assert frozenset({"TX-1002", "TX-1003"}) in compared
    identity = dict(result.identities.rows())
    assert identity["TX-1002"] != identity["TX-1003"]
    assert identity["TX-1001"] == identity["CA-2001"]


def test_a_missing_required_column_refuses_the_file(tmp_path: Path) -> None:
    preset = tmp_path / "state_export.json"
    preset.write_text(example_json(), encoding="utf-8")
    rows = read_csv(example_csv())
    source = tmp_path / "no_surname.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, [c for c in rows[0] if c != "LastName"],
                                extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    result = CliRunner().invoke(app, ["link", str(source), "--preset", str(preset),
                                      "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "missing required column(s) 'last_name_1'" in " ".join(result.output.split())
