"""Literal tables for every normaliser in `features/`, each evaluated through a polars frame."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
import pytest

from features.codes import normalise_country, normalise_flag, normalise_sex, normalise_us_state
from features.dates import DATE_PATTERNS, date_digits, is_placeholder_date, repair_ocr_digits
from features.names import (
    expand_abbreviations,
    fused_name_splits,
    join_particles,
    name_groups,
    spanish_phonetic,
    split_surnames,
    surname_core,
)
from features.prepare import prepare
from features.reference_data import given_name_groups
from features.text import drop_placeholder_names, fold_text

X = pl.col("x")


def one(expr: Callable[[pl.Expr], pl.Expr] | pl.Expr, value: str | None) -> object:
    """Evaluate a normaliser on a one-row, one-column String frame."""
    built = expr(X) if callable(expr) else expr
    frame = pl.DataFrame({"x": [value]}, schema={"x": pl.String})
    return frame.select(built.alias("y"))["y"].to_list()[0]


def column(expr: pl.Expr, values: list[str | None]) -> list[object]:
    frame = pl.DataFrame({"x": values}, schema={"x": pl.String})
    return frame.select(expr.alias("y"))["y"].to_list()


# --- fold_text ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [
    ("josé", "JOSE"),
    ("Maria", "MARIA"),
    ("ÑANDÚ", "NANDU"),
    ("Müller", "MULLER"),
    ("Zoë", "ZOE"),
    ("João", "JOAO"),
    # mojibake: UTF-8 read as Latin-1 / Windows-1252
    ("JosÃ©", "JOSE"),
    ("PeÃ±a", "PENA"),
    ("MuÃ±oz", "MUNOZ"),
    ("PEÃ‘A", "PENA"),
    ("MÃ©xico", "MEXICO"),
    # a real Ã that is not mojibake keeps its letter
    ("JOÃO", "JOAO"),
    # punctuation and whitespace
    ("  maria   de  jesus ", "MARIA DE JESUS"),
    ("ana\tmaria\n", "ANA MARIA"),
    ("Garcia-Lopez", "GARCIA LOPEZ"),
    ("O'Brien", "OBRIEN"),
    ("O’Brien", "OBRIEN"),
    ("Ma.", "MA"),
    ("J. Luis", "J LUIS"),
    ("José  María", "JOSE MARIA"),
    # blank -> null, never ""
    ("", None),
    ("   ", None),
    ("---", None),
    ("123", None),
    (None, None),
])
def test_fold_text(raw: str | None, expected: str | None) -> None:
    assert one(fold_text, raw) == expected


# --- placeholder names --------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [
    ("Baby Girl", None),
    ("BEBE", None),
    ("Newborn 2", None),
    ("Niña", "NINA"),  # folds to the real name Nina
    ("Unknown", None),
    ("NFN", None),
    ("xxxx", None),
    ("Señora", None),
    ("Hijo", None),
    ("Son of", None),
    ("Female", None),  # a sex word alone, written where the name was unknown
    ("Woman", None),
    ("Manuel", "MANUEL"),
    ("Maria", "MARIA"),
    ("Nina Maria", "NINA MARIA"),  # only whole values are placeholders
    ("Babette", "BABETTE"),
    ("Unknown Soldier", "UNKNOWN SOLDIER"),
    ("Don't know", None),  # survey non-response answers
    ("Refused", None),
    ("No Last Name", None),
    ("Apellido", None),  # the form's label written as the answer
    ("Desconocido", None),
    ("Nombre Jose", "NOMBRE JOSE"),
    ("Dau", None),  # a census form's relationship abbreviation (daughter)
    ("Doh", None),
    ("Youngest", None),
    ("Gentleman", None),
    ("Resp", None),
    (None, None),
])
def test_drop_placeholder_names(raw: str | None, expected: str | None) -> None:
    assert one(drop_placeholder_names(fold_text(X)), raw) == expected


def test_no_known_given_name_is_a_placeholder() -> None:
    names = given_name_groups()["name"].unique().sort()
    kept = names.to_frame("x").select(drop_placeholder_names(X).alias("y"))["y"]
    assert names.filter(kept.is_null()).to_list() == []


@pytest.mark.parametrize(("raw", "expected"), [
    ("Of The House", None),
    ("Man Of The House", None),
    ("De La Casa", None),
    ("Respondent", None),
    ("House", "HOUSE"),  # real surnames that are also placeholder words
    ("Goh", "GOH"),
    ("Son", "SON"),
    ("Doe", "DOE"),
])
def test_placeholder_surnames(raw: str, expected: str | None) -> None:
    assert one(drop_placeholder_names(fold_text(X), given=False), raw) == expected


def test_real_surname_that_is_also_a_relationship_word_is_kept() -> None:
    prepared = prepare(pl.DataFrame({"record_id": ["r"], "first_name": ["Min"],
                                     "last_name_1": ["Son"]}))
    assert prepared["ln1"][0] == "SON"


# --- given names --------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [
    ("Ma. Guadalupe", "MARIA GUADALUPE"),
    ("MA GUADALUPE", "MARIA GUADALUPE"),
    ("Ma", "MARIA"),
    ("Juan Ma.", "JUAN MARIA"),
    ("Fco. Javier", "FRANCISCO JAVIER"),
    ("Gpe", "GUADALUPE"),
    ("Josema", "JOSE MARIA"),
    ("Wm", "WILLIAM"),
    ("Chas", "CHARLES"),
    ("Maria", "MARIA"),
    ("Mateo", "MATEO"),  # starts like an abbreviation, is not one
    ("Marco", "MARCO"),
    ("", None),
    (None, None),
])
def test_expand_abbreviations(raw: str | None, expected: str | None) -> None:
    assert one(expand_abbreviations(fold_text(X)), raw) == expected


@pytest.mark.parametrize(("word", "expected"), [
    ("JUANCARLOS", "JUAN CARLOS"),
    ("JOSELUIS", "JOSE LUIS"),
    ("MARIAGUADALUPE", "MARIA GUADALUPE"),
    ("ANAMARIA", "ANA MARIA"),
    ("JOSEANTONIO", "JOSE ANTONIO"),
    ("JUANJOSE", "JUAN JOSE"),
    # known names are never split, short or unknown words stay whole
    ("GUADALUPE", None),
    ("MARIANA", None),
    ("ANA", None),
    ("XOCHITL", None),
    ("ZZZZZZZZ", None),
    ("JENNFER", None),  # a typo of JENNIFER, not the nicknames JENN + FER
])
def test_fused_name_splits(word: str, expected: str | None) -> None:
    splits = fused_name_splits([word])
    assert splits.get(word) == expected


@pytest.mark.parametrize(("raw", "first_word", "compacted"), [
    ("Juancarlos", "JUAN", "JUANCARLOS"),
    ("Juan Carlos", "JUAN", "JUANCARLOS"),
    ("JOSELUIS", "JOSE", "JOSELUIS"),
    ("Guadalupe", "GUADALUPE", "GUADALUPE"),
    ("Ma. Guadalupe", "MARIA", "MARIAGUADALUPE"),
])
def test_prepare_splits_fused_given_names(raw: str, first_word: str, compacted: str) -> None:
    prepared = prepare(pl.DataFrame({"record_id": ["r"], "first_name": [raw]}))
    assert prepared["fn1"][0] == first_word
    assert prepared["fn"][0] == compacted


@pytest.mark.parametrize(("a", "b", "equivalent"), [
    ("LUPE", "GUADALUPE", True),
    ("CHUY", "JESUS", True),
    ("PEPE", "JOSE", True),
    ("PACO", "FRANCISCO", True),
    ("PANCHO", "FRANCISCO", True),
    ("PACO", "PANCHO", True),
    ("MEMO", "GUILLERMO", True),
    ("BETO", "ROBERTO", True),
    ("LALO", "EDUARDO", True),
    ("MARY", "MARIA", True),
    ("BILL", "WILLIAM", True),
    ("GUILLERMO", "WILLIAM", True),
    ("ANGEL", "ANGELA", False),
    ("JUAN", "JUANA", False),
    ("MARIO", "MARIA", False),
    ("JOSE", "JESUS", False),
    ("ROBERTO", "EDUARDO", False),
])
def test_name_groups_equivalence(a: str, b: str, equivalent: bool) -> None:
    groups_a, groups_b = column(name_groups(X), [a, b])
    assert isinstance(groups_a, list) and isinstance(groups_b, list)
    assert bool(set(groups_a) & set(groups_b)) is equivalent


@pytest.mark.parametrize(("word", "expected"), [
    ("ZZYZX", ["ZZYZX"]),  # an unknown name is its own group
    ("GUADALUPE", ["GUADALUPE"]),
    (None, None),
])
def test_name_groups_literal(word: str | None, expected: list[str] | None) -> None:
    assert one(name_groups, word) == expected


# --- surnames -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [
    ("de la Cruz", "DELACRUZ"),
    ("De La Cruz", "DELACRUZ"),
    ("Delacruz", "DELACRUZ"),
    ("Garcia de la Cruz", "GARCIA DELACRUZ"),
    ("del Rio", "DELRIO"),
    ("de los Santos", "DELOSSANTOS"),
    ("Van der Berg", "VANDERBERG"),
    ("Mc Donald", "MCDONALD"),
    ("San Juan", "SANJUAN"),
    ("Garcia y Lopez", "GARCIA LOPEZ"),
    ("Garcia Lopez", "GARCIA LOPEZ"),
    ("Garcia", "GARCIA"),
    ("", None),
    (None, None),
])
def test_join_particles(raw: str | None, expected: str | None) -> None:
    assert one(join_particles(fold_text(X)), raw) == expected


SPLIT_CASES = [
    (("Garcia Lopez", None), ("GARCIA", "LOPEZ")),
    (("Garcia-Lopez", None), ("GARCIA", "LOPEZ")),
    (("Garcia", "Lopez"), ("GARCIA", "LOPEZ")),
    (("Garcia y Lopez", None), ("GARCIA", "LOPEZ")),
    (("de la Cruz", None), ("DELACRUZ", None)),
    (("Delacruz", None), ("DELACRUZ", None)),
    (("De La Cruz", "Ramirez"), ("DELACRUZ", "RAMIREZ")),
    (("Garcia de la Cruz", None), ("GARCIA", "DELACRUZ")),
    (("del Rio", None), ("DELRIO", None)),
    (("de los Santos", "de la Rosa"), ("DELOSSANTOS", "DELAROSA")),
    (("Garcia", ""), ("GARCIA", None)),
    (("Garcia", None), ("GARCIA", None)),
    ((None, "Lopez"), (None, "LOPEZ")),
    # both fields filled: nothing moves, each is compacted
    (("Garcia Lopez", "Perez"), ("GARCIALOPEZ", "PEREZ")),
    # the maternal field repeats the paternal field's last word: the repeat is dropped there
    (("Garcia Lopez", "Lopez"), ("GARCIA", "LOPEZ")),
    (("García-López", "LÓPEZ"), ("GARCIA", "LOPEZ")),
    (("Lopez de la Cruz", "De La Cruz"), ("LOPEZ", "DELACRUZ")),
    (("Lopez Garcia", "Lopez"), ("LOPEZGARCIA", "LOPEZ")),
    (("Lopez", "Lopez"), ("LOPEZ", "LOPEZ")),
    (("Dela Cruz", None), ("DELACRUZ", None)),
]


def _split_id(case: object) -> str:
    raw = case.values[0] if hasattr(case, "values") else case[0]  # type: ignore[index]
    return " | ".join(str(v) for v in raw)


@pytest.mark.parametrize(("raw", "expected"), SPLIT_CASES, ids=[_split_id(c) for c in SPLIT_CASES])
def test_split_surnames(raw: tuple[str | None, str | None],
                        expected: tuple[str | None, str | None]) -> None:
    frame = pl.DataFrame({"a": [raw[0]], "b": [raw[1]]}, schema={"a": pl.String, "b": pl.String})
    paternal, maternal = split_surnames(join_particles(fold_text(pl.col("a"))),
                                        join_particles(fold_text(pl.col("b"))))
    got = frame.select(paternal.alias("p"), maternal.alias("m")).row(0)
    assert got == expected


@pytest.mark.parametrize(("joined", "expected"), [
    ("DELACRUZ", "CRUZ"),
    ("DELOSSANTOS", "SANTOS"),
    ("DELASCASAS", "CASAS"),
    ("DELAROSA", "ROSA"),
    ("DELA", "DELA"),
    ("DELAO", "DELAO"),  # the rest is too short to be a surname
    ("DELGADO", "DELGADO"),
    ("GARCIA", "GARCIA"),
    (None, None),
])
def test_surname_core(joined: str | None, expected: str | None) -> None:
    assert one(surname_core, joined) == expected


# --- phonetic key -------------------------------------------------------------------------------


@pytest.mark.parametrize(("a", "b"), [
    ("HERNANDEZ", "HERNANDES"),  # s/z
    ("GONZALEZ", "GONSALES"),
    ("VAZQUEZ", "BASQUEZ"),  # b/v, s/z, qu/k
    ("VASQUEZ", "VAZQUEZ"),
    ("ZAVALA", "SABALA"),
    ("ELVIRA", "ELBIRA"),
    ("CEPEDA", "SEPEDA"),  # c(e)/s
    ("CECILIA", "SESILIA"),  # c(i)/s
    ("GARCIA", "GARSIA"),
    ("QUINTERO", "KINTERO"),  # qu/k
    ("YESENIA", "LLESENIA"),  # y/ll
    ("VALLEJO", "BAYEJO"),
    ("IBARRA", "YBARRA"),
    ("HUGO", "UGO"),  # silent h
    ("HERRERA", "ERRERA"),
    ("JIMENA", "XIMENA"),  # initial x/j
    ("XAVIER", "JAVIER"),
    ("GIMENEZ", "JIMENEZ"),  # g(i)/j
    ("GISELA", "JISELA"),
    ("MEJIA", "MEGIA"),  # g(e,i)/j inside the word
    ("MAXIMO", "MAKSIMO"),  # inner x
])
def test_spanish_phonetic_alike(a: str, b: str) -> None:
    key_a, key_b = column(spanish_phonetic(fold_text(X)), [a, b])
    assert key_a is not None
    assert key_a == key_b


@pytest.mark.parametrize(("a", "b"), [
    ("SOTO", "SOSA"),
    ("PEREZ", "PAREDES"),
    ("RAMIREZ", "RAMOS"),
    ("LUNA", "LARA"),
    ("MORALES", "MORENO"),
    ("LOPEZ", "LOZANO"),
    ("CHAVEZ", "SANCHEZ"),
    ("CHAVEZ", "KAVEZ"),  # ch is not k
    ("GOMEZ", "JOMEZ"),  # g before o stays hard
    ("MARIA", "MARTA"),
    ("BRENDA", "BRANDON"),
])
def test_spanish_phonetic_different(a: str, b: str) -> None:
    key_a, key_b = column(spanish_phonetic(fold_text(X)), [a, b])
    assert key_a != key_b


@pytest.mark.parametrize(("raw", "expected"), [
    ("HERNANDEZ", "ERNDS"),
    ("VAZQUEZ", "BSKS"),
    ("BASQUES", "BSKS"),
    ("YESENIA", "YSN"),
    ("H", None),
    ("", None),
    (None, None),
])
def test_spanish_phonetic_literal(raw: str | None, expected: str | None) -> None:
    assert one(spanish_phonetic(fold_text(X)), raw) == expected


# --- dates --------------------------------------------------------------------------------------

WITH_MMDDYYYY = ("iso", "yyyymmdd", "mm/dd/yyyy", "mmddyyyy")


@pytest.mark.parametrize(("raw", "formats", "expected"), [
    ("2014-03-11", None, "20140311"),
    ("2014-3-1", None, "20140301"),
    ("20140311", None, "20140311"),
    ("03/11/2014", None, "20140311"),
    ("3/1/2014", None, "20140301"),
    (" 2014-03-11 ", None, "20140311"),
    # 8-digit MMDDYYYY only when the preset allows it
    ("03112014", WITH_MMDDYYYY, "20140311"),
    ("12312014", WITH_MMDDYYYY, "20141231"),
    ("01022014", WITH_MMDDYYYY, "20140102"),
    ("20140311", WITH_MMDDYYYY, "20140311"),
    ("03112014", None, "03112014"),  # read as YYYYMMDD shape; never silently as MMDDYYYY
    # shape matched but not a calendar day: digits kept for fuzzy comparison
    ("19560431", None, "19560431"),
    ("2014-02-30", None, "20140230"),
    # all zeros = unknown
    ("0000-00-00", None, None),
    ("00000000", None, None),
    ("00/00/0000", None, None),
    ("00000000", WITH_MMDDYYYY, None),
    # garbage
    ("garbage", None, None),
    ("1 Mar 2014", None, None),
    ("2014/03/11", None, None),  # not one of the default formats
    ("2014-03", None, None),
    ("", None, None),
    (None, None, None),
])
def test_date_digits(raw: str | None, formats: tuple[str, ...] | None,
                     expected: str | None) -> None:
    expr = date_digits(X) if formats is None else date_digits(X, formats)
    assert one(expr, raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("2005O9O7", "20050907"),
    ("2OI4-O3-II", "20140311"),
    ("l2/O3/2OO5", "20051203"),
    ("2014-03-11", "20140311"),
    ("garbage", None),
    (None, None),
])
def test_date_digits_after_ocr_repair(raw: str | None, expected: str | None) -> None:
    assert one(date_digits(repair_ocr_digits(X)), raw) == expected


def test_date_formats_used_in_tests_exist() -> None:
    assert set(WITH_MMDDYYYY) <= set(DATE_PATTERNS)


@pytest.mark.parametrize(("digits", "expected"), [
    ("20140101", True),
    ("19000101", True),
    ("20140311", False),
    ("20141001", False),
    ("20140110", False),
    (None, None),
])
def test_is_placeholder_date(digits: str | None, expected: bool | None) -> None:
    assert one(is_placeholder_date, digits) == expected


# --- coded fields -------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [
    ("M", "M"), ("m", "M"), (" Male ", "M"), ("MASCULINO", "M"), ("Masc", "M"), ("H", "M"),
    ("hombre", "M"), ("1", "M"),
    ("F", "F"), ("female", "F"), ("Femenino", "F"), ("Mujer", "F"), ("2", "F"),
    ("X", "X"), ("Nonbinary", "X"), ("non-binary", "X"),
    ("U", None), ("unknown", None), ("3", None), ("", None), (None, None),
])
def test_normalise_sex(raw: str | None, expected: str | None) -> None:
    assert one(normalise_sex, raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("Y", "Y"), ("Yes", "Y"), ("si", "Y"), ("Sí", "Y"), ("Twin", "Y"), ("1", "Y"),
    ("N", "N"), ("No", "N"), ("0", "N"),
    ("maybe", None), ("", None), (None, None),
])
def test_normalise_flag(raw: str | None, expected: str | None) -> None:
    assert one(normalise_flag, raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("Mexico", "MEX"), ("MX", "MEX"), ("MEX", "MEX"), ("México", "MEX"), ("MÃ©xico", "MEX"),
    (" mexico ", "MEX"),
    ("United States", "USA"), ("USA", "USA"), ("US", "USA"), ("Estados Unidos", "USA"),
    ("Guatemala", "GTM"), ("GT", "GTM"),
    ("Atlantis", "ATLANTIS"),  # unknown spellings stay as folded text
    ("", None), (None, None),
])
def test_normalise_country(raw: str | None, expected: str | None) -> None:
    assert one(normalise_country, raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("Texas", "TX"), ("TX", "TX"), ("tx", "TX"), ("Tejas", "TX"),
    ("California", "CA"), ("CA", "CA"), ("Calif.", "CA"),
    ("Nuevo Mexico", "NM"), ("New Mexico", "NM"),
    ("North Carolina", "NC"), ("Florida", "FL"),
    ("Zzz", "ZZZ"),
    ("", None), (None, None),
])
def test_normalise_us_state(raw: str | None, expected: str | None) -> None:
    assert one(normalise_us_state, raw) == expected


def _synthetic_records(count: int) -> pl.DataFrame:
    from benchmarks.synthetic import generate
    from matcher.ingest import validate
    from matcher.settings import load_preset

    raw, _ = generate(count, seed=11)
    return validate(raw, load_preset("msix")).records


def test_prepare_is_the_same_row_by_row_with_and_without_a_memo() -> None:
    """Small frames (no distinct-value join), the memo's remembered values and its fresh
    values all give exactly the batch result."""
    from features.value_memo import SMALL_FRAME_ROWS, ValueMemo

    records = _synthetic_records(400)
    assert records.height > SMALL_FRAME_ROWS
    batch = prepare(records)
    warm = ValueMemo()
    prepare(records.head(300), memo=warm)  # the batch path fills the memo
    cold = ValueMemo()
    for row in [*range(0, 300, 37), *range(300, records.height, 11)]:
        one = records.slice(row, 1)
        expected = batch.slice(row, 1).drop("idx")
        for memo in (None, warm, cold):
            got = prepare(one, memo=memo).drop("idx")
            assert got.to_dicts() == expected.to_dicts(), (row, memo)
            assert got.schema == expected.schema
    assert warm.hits > 0 and cold.misses > 0


def test_value_memo_stops_growing_at_its_bound_and_still_answers() -> None:
    from features.value_memo import ValueMemo

    records = _synthetic_records(120)
    memo = ValueMemo(max_values=5)
    expected = prepare(records).drop("idx")
    for row in range(0, 40, 3):
        got = prepare(records.slice(row, 1), memo=memo).drop("idx")
        assert got.to_dicts() == expected.slice(row, 1).to_dicts()
    assert all(len(table) <= 5 for table in memo._tables.values())


def test_non_response_surname_is_missing() -> None:
    prepared = prepare(pl.DataFrame({"record_id": ["r"], "first_name": ["Ana"],
                                     "last_name_1": ["No Last Name"]}))
    assert prepared["ln1"][0] is None
