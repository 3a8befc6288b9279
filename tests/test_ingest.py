"""Reading inputs: every bad-row case goes to errors with record_id, field and reason; whole-file
problems raise InputFileError; CSV, Parquet, JSON and JSON lines all read."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from matcher.errors import InputFileError, StudentlinkError
from matcher.ingest import IngestResult, read_inputs, validate
from matcher.settings import Settings, load_preset

HEADER = b"record_id,state,first_name,last_name_1,last_name_2,birth_date\n"
GOOD = b"ok1,TX,Juan,Garcia,Lopez,2014-03-11\n"


@pytest.fixture(scope="module")
def msix() -> Settings:
    return load_preset("msix")


def write_csv(path: Path, *rows: bytes) -> Path:
    path.write_bytes(HEADER + b"".join(rows))
    return path


def errors_of(result: IngestResult) -> list[tuple[str | None, str, str]]:
    return result.errors.select("record_id", "field", "reason").rows()


def assert_balanced(result: IngestResult) -> None:
    assert result.rows_in == len(result.records) + result.rejected_rows


# (case, the bad row, field, words the reason must contain)
BAD_ROWS: list[tuple[str, bytes, str, tuple[str, ...]]] = [
    ("missing first name", b"bad,TX,,Garcia,,2014-03-11\n", "first_name", ("required",)),
    ("blank last name", b"bad,TX,Ana,   ,,2014-03-11\n", "last_name_1", ("required",)),
    ("missing state", b"bad,,Ana,Lopez,,2014-03-11\n", "state", ("required",)),
    ("unparseable date", b"bad,TX,Ana,Lopez,,11th of March\n", "birth_date", ("date",)),
    ("impossible day", b"bad,TX,Ana,Lopez,,2014-02-30\n", "birth_date", ("date",)),
    ("day/month order", b"bad,TX,Ana,Lopez,,31/12/2014\n", "birth_date", ("date",)),
    ("born in 1850", b"bad,TX,Ana,Lopez,,1850-06-01\n", "birth_date", ("1900",)),
    ("born in the future", b"bad,TX,Ana,Lopez,,2999-01-01\n", "birth_date", ("future",)),
    ("bad encoding", b"bad,TX,Jos\xff,Lopez,,2014-03-11\n", "first_name", ("UTF-8",)),
    ("too long", b"bad,TX," + b"A" * 61 + b",Lopez,,2014-03-11\n", "first_name",
     ("60", "61")),
    ("bad state code", b"bad,T1,Ana,Lopez,,2014-03-11\n", "state", ("USPS", "T1")),
]


@pytest.mark.parametrize(("row", "field", "words"), [(r, f, w) for _, r, f, w in BAD_ROWS],
                         ids=[c for c, _, _, _ in BAD_ROWS])
def test_bad_row_goes_to_errors(tmp_path: Path, msix: Settings, row: bytes, field: str,
                                words: tuple[str, ...]) -> None:
    path = write_csv(tmp_path / "in.csv", GOOD, row, b"ok2,CA,Luis,Perez,,03/11/2014\n")
    result = read_inputs([path], msix)
    assert result.records["record_id"].to_list() == ["ok1", "ok2"]
    assert len(result.errors) == 1
    error = result.errors.row(0, named=True)
    assert error["record_id"] == "bad"
    assert error["field"] == field
    assert error["row"] == 2
    assert error["source"] == str(path)
    assert f"'{field}'" in error["reason"]
    for word in words:
        assert word in error["reason"]
    assert result.rows_in == 3
    assert result.rejected_rows == 1
    assert_balanced(result)


@pytest.mark.parametrize("field", ["enrollment_date", "qualifying_arrival_date"])
def test_an_unreadable_enrollment_or_arrival_date_goes_to_errors(
        tmp_path: Path, msix: Settings, field: str) -> None:
    """Counts go by the enrollment date: a value no date format reads would drop the child
    from every reporting period without a word, so it is a row error like a birth date."""
    path = tmp_path / "in.csv"
    path.write_text(f"record_id,state,first_name,last_name_1,birth_date,{field}\n"
                    "ok1,TX,Juan,Garcia,2014-03-11,2021-09-01\n"
                    "bad,TX,Ana,Lopez,2014-03-11,2021-02-30\n"
                    "ok2,TX,Luis,Perez,2014-03-11,09/01/2021\n"
                    "ok3,TX,Rosa,Cruz,2014-03-11,\n", encoding="utf-8")
    result = read_inputs([path], msix)
    assert result.records["record_id"].to_list() == ["ok1", "ok2", "ok3"]
    assert errors_of(result) == [
        ("bad", field, f"'{field}' must be a date (iso, yyyymmdd, mm/dd/yyyy); got '2021-02-30'")]
    assert_balanced(result)
    # one record at a time (the API's path, through the memo of readings), and 'keep'
    one = pl.DataFrame({"record_id": ["bad"], "state": ["TX"], "first_name": ["Ana"],
                        "last_name_1": ["Lopez"], "birth_date": ["2014-03-11"],
                        field: ["2021-02-30"]})
    assert validate(one, msix).errors["field"].to_list() == [field]
    keep = msix.model_copy(update={"invalid_date": "keep"})
    assert len(validate(one, keep).errors) == 0


def test_all_zero_and_blank_dates_are_unknown_not_errors(tmp_path: Path, msix: Settings) -> None:
    path = write_csv(tmp_path / "in.csv", b"z1,TX,Ana,Lopez,,0000-00-00\n",
                     b"z2,TX,Ana,Lopez,,00000000\n", b"z3,TX,Ana,Lopez,,\n", GOOD)
    result = read_inputs([path], msix)
    assert len(result.errors) == 0
    assert len(result.records) == 4


def test_one_row_with_several_problems_counts_once(tmp_path: Path, msix: Settings) -> None:
    path = write_csv(tmp_path / "in.csv", GOOD, b"bad,Texas,,Lopez,,1850-01-01\n")
    result = read_inputs([path], msix)
    fields = sorted(f for _, f, _ in errors_of(result))
    assert fields == ["birth_date", "first_name", "state", "state"]
    assert result.rejected_rows == 1
    assert result.records["record_id"].to_list() == ["ok1"]
    assert_balanced(result)


def test_duplicate_record_id_across_two_files(tmp_path: Path, msix: Settings) -> None:
    first = write_csv(tmp_path / "a.csv", GOOD, b"dup,TX,Ana,Lopez,,2014-03-11\n")
    second = write_csv(tmp_path / "b.csv", b"dup,CA,Ana,Lopez,,2014-03-11\n",
                       b"ok3,CA,Rosa,Diaz,,2015-01-02\n")
    result = read_inputs([first, second], msix)
    assert sorted(result.records["record_id"].to_list()) == ["dup", "ok1", "ok3"]
    kept = result.records.filter(pl.col("record_id") == "dup")
    assert kept["state"].to_list() == ["TX"]  # the first one sent stays
    [error] = result.errors.iter_rows(named=True)
    assert (error["record_id"], error["field"], error["source"], error["row"]) == (
        "dup", "record_id", str(second), 1)
    assert "'record_id'" in error["reason"] and "unique" in error["reason"]
    assert result.rows_in == 4
    assert_balanced(result)


def test_records_carry_source_index_and_row(tmp_path: Path, msix: Settings) -> None:
    first = write_csv(tmp_path / "a.csv", GOOD)
    second = write_csv(tmp_path / "b.csv", b"bad,TX,,x,,\n", b"ok2,CA,Luis,Perez,,\n")
    result = read_inputs([first, second], msix)
    assert result.records.select("record_id", "source", "row").rows() == [
        ("ok1", 0, 1), ("ok2", 1, 2)]


def test_whitespace_in_headers_and_cells_is_stripped(tmp_path: Path, msix: Settings) -> None:
    path = tmp_path / "in.csv"
    path.write_text(" record_id , state ,first_name,last_name_1\n  w1 , TX ,  Ana ,Lopez\n",
                    encoding="utf-8")
    result = read_inputs([path], msix)
    assert result.records.select("record_id", "state", "first_name").rows() == [
        ("w1", "TX", "Ana")]


def test_utf8_bom_is_not_part_of_the_first_header(tmp_path: Path, msix: Settings) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes("\ufeffrecord_id,state,first_name,last_name_1\nb1,TX,José,Peña\n"
                     .encode())
    result = read_inputs([path], msix)
    assert result.records.select("record_id", "first_name", "last_name_1").rows() == [
        ("b1", "José", "Peña")]


# --- whole-file problems ------------------------------------------------------------------------


def test_missing_required_column_raises(tmp_path: Path, msix: Settings) -> None:
    path = tmp_path / "in.csv"
    path.write_text("record_id,state,first_name\nr1,TX,Ana\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="last_name_1") as info:
        read_inputs([path], msix)
    assert str(path) in str(info.value)
    assert isinstance(info.value, StudentlinkError)


@pytest.mark.parametrize(("name", "content", "words"), [
    ("in.xlsx", b"PK\x03\x04", "unsupported"),
    ("in.parquet", b"not a parquet file", "cannot read"),
    ("in.json", b"{not json", "cannot read"),
    ("in.csv", HEADER + b"r1,TX,Ana,Lopez,,2014-03-11,extra\n", "cannot read"),
])
def test_unreadable_or_unsupported_file_raises(tmp_path: Path, msix: Settings, name: str,
                                               content: bytes, words: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputFileError, match=words):
        read_inputs([path], msix)


def test_missing_file_raises(tmp_path: Path, msix: Settings) -> None:
    with pytest.raises(InputFileError, match="no such file"):
        read_inputs([tmp_path / "nope.csv"], msix)


# --- formats ------------------------------------------------------------------------------------

ROWS: list[dict[str, str | None]] = [
    {"record_id": "f1", "state": "TX", "first_name": "Ana", "last_name_1": "Lopez",
     "birth_date": "2014-03-11"},
    {"record_id": "f2", "state": "CA", "first_name": "Luis", "last_name_1": "Perez",
     "birth_date": None},
    {"record_id": "f3", "state": "CA", "first_name": "", "last_name_1": "Perez",
     "birth_date": "2014-03-11"},
]


def _write(path: Path) -> Path:
    frame = pl.DataFrame(ROWS, schema=dict.fromkeys(ROWS[0], pl.String))
    if path.suffix == ".csv":
        frame.write_csv(path)
    elif path.suffix == ".parquet":
        frame.write_parquet(path)
    elif path.suffix == ".json":
        path.write_text(json.dumps(ROWS), encoding="utf-8")
    else:
        path.write_text("\n".join(json.dumps(r) for r in ROWS), encoding="utf-8")
    return path


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".json", ".jsonl"])
def test_every_format_reads_the_same(tmp_path: Path, msix: Settings, suffix: str) -> None:
    result = read_inputs([_write(tmp_path / f"in{suffix}")], msix)
    assert result.records.select("record_id", "state", "first_name", "birth_date").rows() == [
        ("f1", "TX", "Ana", "2014-03-11"), ("f2", "CA", "Luis", None)]
    assert errors_of(result) == [("f3", "first_name", "'first_name' is required; got nothing")]
    assert_balanced(result)


def test_typed_parquet_columns_become_strings(tmp_path: Path, msix: Settings) -> None:
    import datetime as dt

    path = tmp_path / "typed.parquet"
    pl.DataFrame({"record_id": [7], "state": ["TX"], "first_name": ["Ana"],
                  "last_name_1": ["Lopez"], "birth_date": [dt.date(2014, 3, 11)]}
                 ).write_parquet(path)
    result = read_inputs([path], msix)
    assert result.records.select("record_id", "birth_date").rows() == [("7", "2014-03-11")]


def test_timestamp_columns_are_read_as_their_day(tmp_path: Path, msix: Settings) -> None:
    """A database or pandas export writes dates as timestamps: the day is the date, not a
    row error ('2021-09-01 00:00:00' is no date format)."""
    import datetime as dt

    path = tmp_path / "timestamps.parquet"
    pl.DataFrame({"record_id": ["a", "b"], "state": ["TX", "TX"], "first_name": ["Ana", "Luis"],
                  "last_name_1": ["Lopez", "Cruz"],
                  "birth_date": [dt.datetime(2014, 3, 11), dt.datetime(2013, 1, 2, 13, 5)],
                  "enrollment_date": [dt.datetime(2021, 9, 1), dt.datetime(2021, 9, 2, 8, 0)]},
                 ).write_parquet(path)
    result = read_inputs([path], msix)
    assert result.records.select("record_id", "birth_date", "enrollment_date").rows() == [
        ("a", "2014-03-11", "2021-09-01"), ("b", "2013-01-02", "2021-09-02")]
    assert len(result.errors) == 0


def test_preset_column_mapping(tmp_path: Path) -> None:
    febrl = load_preset("febrl")
    path = tmp_path / "febrl.csv"
    path.write_text("rec_id, given_name, surname, date_of_birth, soc_sec_id\n"
                    "rec-1-org, ana, lopez, 19850311, 123\n"
                    "rec-2-org, luis, perez, 19850431, 456\n", encoding="utf-8")
    result = read_inputs([path], febrl)
    assert result.records.select("record_id", "first_name", "last_name_1", "birth_date",
                                 "ssn").rows() == [
        ("rec-1-org", "ana", "lopez", "19850311", "123"),
        ("rec-2-org", "luis", "perez", "19850431", "456")]  # febrl keeps invalid dates
    assert len(result.errors) == 0


def test_an_alternative_may_be_a_join_of_columns(tmp_path: Path) -> None:
    """The pseudopeople preset reads the census's address and the tax forms' mailing address
    (other column names, no birth date): the first alternative present in a file is used."""
    preset = load_preset("pseudopeople")
    census, w2 = tmp_path / "census.csv", tmp_path / "w2.csv"
    census.write_text("record_id,first_name,last_name,date_of_birth,street_number,street_name,"
                      "unit_number,city,state,zipcode\n"
                      "c1,Ana,Lopez,03/11/1985,12,oak st,,Anytown,WA,98001\n", encoding="utf-8")
    w2.write_text("record_id,first_name,last_name,employer_street_name,employer_city,"
                  "mailing_address_street_number,mailing_address_street_name,"
                  "mailing_address_unit_number,mailing_address_city,mailing_address_state,"
                  "mailing_address_zipcode\n"
                  "w1,Ana,Lopez,main st,Othertown,12,oak st,apt 3,Anytown,WA,98001\n"
                  "w2,Luis,Perez,main st,Othertown,,,,,,\n", encoding="utf-8")
    result = read_inputs([census, w2], preset)
    assert result.records.select("record_id", "address", "city", "address_state",
                                 "zipcode").rows() == [
        ("c1", "12 oak st", "Anytown", "WA", "98001"),
        ("w1", "12 oak st apt 3", "Anytown", "WA", "98001"),  # not the employer's address
        ("w2", None, None, None, None)]
    assert len(result.errors) == 0
