"""Identity IDs: 12 digits with a Luhn check digit, unique."""

from __future__ import annotations

import itertools

import pytest

from matcher.store.ids import (
    is_valid_identity_id,
    luhn_check_digit,
    new_identity_ids,
    random_identity_id,
)


@pytest.mark.parametrize(("body", "digit"), [("7992739871", "3"), ("1234567890", "3"),
                                             ("0000000000", "0")])
def test_luhn_digit(body: str, digit: str) -> None:
    assert luhn_check_digit(body) == digit


def test_random_ids_are_valid() -> None:
    for _ in range(200):
        value = random_identity_id()
        assert len(value) == 12 and value[0] != "0" and is_valid_identity_id(value)


@pytest.mark.parametrize("value", ["", "12345678901", "012345678903", "1234567890ab",
                                   "123456789013", "1234567890123"])
def test_invalid_ids(value: str) -> None:
    assert not is_valid_identity_id(value)


def test_valid_id() -> None:
    assert is_valid_identity_id("123456789015")


def test_typo_is_caught() -> None:
    value = random_identity_id()
    wrong = value[:5] + str((int(value[5]) + 1) % 10) + value[6:]
    assert not is_valid_identity_id(wrong)


def test_collisions_are_retried() -> None:
    numbers = itertools.cycle([1, 1, 2, 2, 3])
    taken_ids = {random_identity_id(lambda _n: 3)}

    ids = new_identity_ids(2, lambda cands: [c for c in cands if c in taken_ids],
                           randbelow=lambda _n: next(numbers))
    assert len(set(ids)) == 2 and not set(ids) & taken_ids
