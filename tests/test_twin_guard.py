"""The twin guard on whole records: which pairs of one family and birth date it keeps apart."""

from __future__ import annotations

import polars as pl
import pytest

from matcher.clustering import TWIN_BY_NAMES
from matcher.pipeline import TWIN_FLAG, Linker, days_apart
from matcher.settings import load_preset
from tests.conftest import CanonicalBuilder, PairsBuilder

FAMILY = {"last_name_1": "Vega", "last_name_2": "Garcia", "birth_date": "2008-09-26", "sex": "F",
          "state": "TX"}


def _flags(records: pl.DataFrame, pairs: pl.DataFrame, column: str = TWIN_FLAG
           ) -> tuple[list[bool], list[bool]]:
    """The flag (or `column`) of each pair by the plain path and by the query (many pairs)."""
    linker = Linker(load_preset("msix"))
    prepared = linker.prepare(records)
    plain = linker.compare(prepared, pairs)[column].to_list()
    many = pl.concat([pairs] * 200)
    query = linker.compare(prepared, many)[column].to_list()[:len(pairs)]
    return plain, query


@pytest.mark.parametrize(("right", "by_names"), [
    ({}, True),                                 # two given names: a typo can do that
    ({"multiple_birth_flag": "Y"}, False),      # a declared multiple birth
    ({"sex": "M", "first_name": "Fernando"}, False),  # a boy and a girl
    ({"local_student_id": "2", "enrollment_date": "2020-07-20"}, False),  # enrolled together
])
def test_the_guard_says_whether_the_names_alone_raise_the_flag(
        canonical: CanonicalBuilder, pairs_frame: PairsBuilder, right: dict[str, str],
        by_names: bool) -> None:
    """MARI against FERNANDA is flagged either way; only the names say so in the first case,
    which clustering lets more strong unflagged pairs outvote."""
    records = canonical([
        {**FAMILY, "first_name": "Mari", "local_student_id": "1",
         "enrollment_date": "2020-07-17"},
        {**FAMILY, "first_name": "Fernanda", **right}])
    pairs = pairs_frame([0], [1])
    assert _flags(records, pairs) == ([True], [True])
    assert _flags(records, pairs, TWIN_BY_NAMES) == ([by_names], [by_names])


@pytest.mark.parametrize(("id_right", "enrolled_right", "flagged"), [
    ("527215567", "2020-07-10", True),   # two ids in one state a week apart: two children
    ("527215567", "2020-07-17", True),
    ("527215567", "2021-01-20", False),  # re-enrolled after a move, with a new id
    ("872779806", "2020-07-10", False),  # the same id: one child
    (None, "2020-07-10", True),          # no id: nothing says one child, the dates say two
    ("527215567", None, False),          # no date: nothing said
])
def test_children_enrolled_together_under_two_ids(canonical: CanonicalBuilder,
                                                  pairs_frame: PairsBuilder, id_right: str | None,
                                                  enrolled_right: str | None,
                                                  flagged: bool) -> None:
    """ANA against ANA MARIA (a compound name part) fits one child or her twin; two
    enrollments in one state at the same time say two children unless the student ids agree."""
    records = canonical([
        {**FAMILY, "first_name": "Ana", "local_student_id": "872779806",
         "enrollment_date": "2020-07-17"},
        {**FAMILY, "first_name": "Ana Maria", "local_student_id": id_right,
         "enrollment_date": enrolled_right}])
    plain, query = _flags(records, pairs_frame([0], [1]))
    assert plain == query == [flagged]


def test_enrollment_dates_in_the_systems_formats(canonical: CanonicalBuilder,
                                                 pairs_frame: PairsBuilder) -> None:
    records = canonical([
        {**FAMILY, "first_name": "Ana", "local_student_id": "1", "enrollment_date": "20200717"},
        {**FAMILY, "first_name": "Ana", "local_student_id": "2",
         "enrollment_date": "07/20/2020"}])
    assert _flags(records, pairs_frame([0], [1])) == ([True], [True])


def test_other_states_enrolled_together_are_not_flagged(canonical: CanonicalBuilder,
                                                        pairs_frame: PairsBuilder) -> None:
    records = canonical([
        {**FAMILY, "first_name": "Ana", "local_student_id": "1", "enrollment_date": "2020-07-17"},
        {**FAMILY, "first_name": "Ana", "local_student_id": "2", "enrollment_date": "2020-07-17",
         "state": "KS"}])
    assert _flags(records, pairs_frame([0], [1])) == ([False], [False])


@pytest.mark.parametrize(("left", "right", "days"), [
    ("20200717", "20200710", 7), ("20200301", "20200228", 2), ("20200717", None, None),
    (None, None, None), ("20200231", "20200301", None), ("", "20200301", None),
])
def test_days_apart(left: str | None, right: str | None, days: int | None) -> None:
    assert days_apart(left, right) == days


def test_the_same_child_sent_twice_without_an_id_is_not_flagged(canonical: CanonicalBuilder,
                                                               pairs_frame: PairsBuilder) -> None:
    """The very same names, one state, one enrollment date and no student id: as likely one
    record sent twice as twins of one name."""
    record = {**FAMILY, "first_name": "Ana Maria", "enrollment_date": "2020-07-17"}
    records = canonical([record, record])
    assert _flags(records, pairs_frame([0], [1])) == ([False], [False])


@pytest.mark.parametrize(("middle_left", "middle_right", "flagged"), [
    ("Karen", None, True),      # ANA | KAREN against ANA: the twin ANA MARIA as likely
    ("Karen", "Maria", True),
    ("Karen", "Karen", False),  # the very same record sent twice
    (None, None, False),
])
def test_a_middle_name_counts_when_children_are_enrolled_together_without_an_id(
        canonical: CanonicalBuilder, pairs_frame: PairsBuilder, middle_left: str | None,
        middle_right: str | None, flagged: bool) -> None:
    records = canonical([
        {**FAMILY, "first_name": "Ana", "middle_name": middle_left,
         "local_student_id": "872779806", "enrollment_date": "2021-09-21"},
        {**FAMILY, "first_name": "Ana", "middle_name": middle_right,
         "enrollment_date": "2021-09-21"}])
    assert _flags(records, pairs_frame([0], [1])) == ([flagged], [flagged])


ROBERTS_TWINS = {"birth_date": "2018-01-07", "sex": "M", "state": "TX",
                 "parent1_first_name": "Andrew", "parent2_first_name": "Amber"}


@pytest.mark.parametrize(("right", "flagged"), [
    # names rotated through the fields, the parents the same, enrolled together: twins
    ({"first_name": "Roberts", "middle_name": "Allen", "last_name_1": "Michael",
      "local_student_id": "596275216", "enrollment_date": "2021-04-23"}, True),
    # the same, other parents: nothing says one family
    ({"first_name": "Roberts", "middle_name": "Allen", "last_name_1": "Michael",
      "local_student_id": "596275216", "enrollment_date": "2021-04-23",
      "parent1_first_name": "Kevin", "parent2_first_name": "Laura"}, False),
    # the same parents, enrolled a year apart and no twin declared: the name rules alone do
    # not reach across different surnames (a true pair's names may just be garbled)
    ({"first_name": "Roberts", "middle_name": "Allen", "last_name_1": "Michael",
      "local_student_id": "596275216", "enrollment_date": "2022-05-02"}, False),
    # ... unless a multiple birth is declared
    ({"first_name": "Roberts", "middle_name": "Allen", "last_name_1": "Michael",
      "local_student_id": "596275216", "enrollment_date": "2022-05-02",
      "multiple_birth_flag": "Y"}, True),
])
def test_one_family_by_its_parents_when_the_surnames_differ(
        canonical: CanonicalBuilder, pairs_frame: PairsBuilder, right: dict[str, str],
        flagged: bool) -> None:
    """DUSTIN | ROBERTS against ROBERTS ALLEN | MICHAEL: twins enrolled one day apart under two
    ids, the surname comparison says 'different' (the family name moved to the first-name
    field): the parents' names say one family."""
    records = canonical([
        {**ROBERTS_TWINS, "first_name": "Dustin", "last_name_1": "Roberts",
         "local_student_id": "941839455", "enrollment_date": "2021-04-22"},
        {**ROBERTS_TWINS, **right}])
    plain, query = _flags(records, pairs_frame([0], [1]))
    assert plain == query == [flagged]


@pytest.mark.parametrize(("left", "right", "by_names"), [
    # a girl ALFONSO against a boy ALFENSO: names a typo apart, the sex as likely a typo
    ({"first_name": "Alfonso"}, {"first_name": "Alfenso", "sex": "M"}, True),
    # a girl MARIA against a boy FERNANDO: a boy and a girl
    ({"first_name": "Maria"}, {"first_name": "Fernando", "sex": "M"}, False),
    # ANA against ANA KAREN, one of them a declared twin: maybe her twin sister
    ({"first_name": "Ana"}, {"first_name": "Ana Karen", "multiple_birth_flag": "Y"}, False),
    # JOSE against JOSUE, both declared twins: two known names, and twins are named alike
    ({"first_name": "Jose", "multiple_birth_flag": "Y"},
     {"first_name": "Josue", "multiple_birth_flag": "Y"}, False),
    # YARITZI against YARETZI, both declared: one name spelled two ways, not two names
    ({"first_name": "Yaritzi", "multiple_birth_flag": "Y"},
     {"first_name": "Yaretzi", "multiple_birth_flag": "Y"}, True),
    # MARIANA against MARIANNA, one declared: a typo
    ({"first_name": "Mariana"}, {"first_name": "Marianna", "multiple_birth_flag": "Y"}, True),
    # the same with the sexes differing too: still only spelling and sex
    ({"first_name": "Alfonso", "multiple_birth_flag": "Y"},
     {"first_name": "Alfenso", "sex": "M"}, True),
    # enrolled together in one state under two ids beside a typo: two children enrolled at once
    ({"first_name": "Yaritzi", "local_student_id": "1", "enrollment_date": "2020-07-17"},
     {"first_name": "Yaretzi", "local_student_id": "2", "enrollment_date": "2020-07-20"},
     False),
])
def test_two_sexes_beside_names_that_differ_in_spelling_only_are_no_firm_flag(
        canonical: CanonicalBuilder, pairs_frame: PairsBuilder, left: dict[str, str],
        right: dict[str, str], by_names: bool) -> None:
    """Two recorded sexes or a declared multiple birth still flag the pair; beside given names
    that differ only as a typo or a sound-alike does, the flag is marked as one clustering may
    outvote (`TWIN_BY_NAMES`), like a flag the names alone raise. Beside two different names,
    a part of the other's name or enrollments together it stays firm."""
    records = canonical([{**FAMILY, **left}, {**FAMILY, **right}])
    pairs = pairs_frame([0], [1])
    assert _flags(records, pairs) == ([True], [True])
    assert _flags(records, pairs, TWIN_BY_NAMES) == ([by_names], [by_names])


MARTINEZ_FAMILY = {"first_name": "Jose", "last_name_1": "Martinez", "last_name_2": "Cruz",
                   "sex": "M", "state": "TX", "birth_date": "2006-11-24",
                   "parent1_first_name": "Juan", "parent2_first_name": "Guadalupe"}


@pytest.mark.parametrize(("right", "flagged"), [
    # born seven years apart to the same parents: two brothers as likely as one boy
    ({"birth_date": "2013-02-19"}, True),
    ({"birth_date": "2013-02-19", "first_name": "Jose Luis"}, True),
    # the date a typo, a swap or a placeholder apart, or missing: nothing says two children
    ({"birth_date": "2006-11-25"}, False),
    ({"birth_date": "2006-24-11"}, False),
    ({"birth_date": "2013-01-01"}, False),
    ({"birth_date": None}, False),
    # the parents' names differ or are missing: not one family by what the records say
    ({"birth_date": "2013-02-19", "parent1_first_name": "Pedro",
      "parent2_first_name": "Maria"}, False),
    ({"birth_date": "2013-02-19", "parent1_first_name": None, "parent2_first_name": None},
     False),
    # another family name
    ({"birth_date": "2013-02-19", "last_name_1": "Lopez", "last_name_2": "Perez"}, False),
    # the same student id in the same state: one child, whatever the dates
    ({"birth_date": "2013-02-19", "local_student_id": "5551234"}, False),
])
def test_birth_dates_apart_in_one_family_flag_possible_siblings(
        canonical: CanonicalBuilder, pairs_frame: PairsBuilder, right: dict[str, str | None],
        flagged: bool) -> None:
    """JOSE MARTINEZ CRUZ born 2006 and born 2013 with the same parents: the family's names
    outweigh the dates, so the guard flags the pair; the flag is one a typo can explain (a
    garbled date), which the child's other records may outvote."""
    records = canonical([{**MARTINEZ_FAMILY, "local_student_id": "5551234"},
                         {**MARTINEZ_FAMILY, "local_student_id": "7770001", **right}])
    pairs = pairs_frame([0], [1])
    assert _flags(records, pairs) == ([flagged], [flagged])
    assert _flags(records, pairs, TWIN_BY_NAMES) == ([flagged], [flagged])


@pytest.mark.parametrize(("left", "right", "same"), [
    ("Carolyn", "Carolyn", True),          # the very same
    ("Carolyn", "Carllyn", True),          # the same name misspelt
    ("Nayeli", "Nayely", True),            # sounds alike
    ("Carolyn", "Carrie", False),          # another form of the name
    ("Juanito", "Juan Carlos", False),     # a form that fits his brother JUAN JOSE as well
    ("Juan Carlos", "Juan Jose", False),   # two names
])
def test_a_tie_is_broken_by_the_same_name_or_the_same_misspelt(
        canonical: CanonicalBuilder, pairs_frame: PairsBuilder, left: str, right: str,
        same: bool) -> None:
    """What clustering reads as the very same given names where a group's strong and flagged
    pairs tie (`Linker.same_name`): CAROLYN against CARLLYN, beside a CARRIE flagged against
    CARLLYN, is one woman; JUANITO beside the brothers JUAN CARLOS and JUAN JOSE is a guess."""
    records = canonical([{**FAMILY, "first_name": left}, {**FAMILY, "first_name": right}])
    linker = Linker(load_preset("msix"))
    gammas = linker.compare(linker.prepare(records), pairs_frame([0], [1]))
    same_name = linker.same_name(gammas)
    assert same_name is not None and same_name.tolist() == [same]
