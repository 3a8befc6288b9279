"""Persistent identity IDs: 12 digits, like MSIX's identification numbers.

An ID is 11 random digits (the first never 0) and a Luhn check digit, so a mistyped ID is
caught before it is looked up. IDs carry no information about the child; uniqueness is
enforced by the database (a unique constraint) and checked before use.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable

ID_LENGTH = 12


def luhn_check_digit(digits: str) -> str:
    """The Luhn digit that makes `digits + digit` pass the Luhn check."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def is_valid_identity_id(value: str) -> bool:
    """True for a well-formed identity ID (12 digits, first non-zero, Luhn digit right)."""
    if len(value) != ID_LENGTH or not value.isdigit() or value[0] == "0":
        return False
    return luhn_check_digit(value[:-1]) == value[-1]


def random_identity_id(randbelow: Callable[[int], int] = secrets.randbelow) -> str:
    """One new random identity ID (not checked for uniqueness)."""
    body = str(10**10 + randbelow(9 * 10**10))
    return body + luhn_check_digit(body)


def new_identity_ids(
    count: int,
    taken: Callable[[list[str]], Iterable[str]],
    randbelow: Callable[[int], int] = secrets.randbelow,
) -> list[str]:
    """`count` distinct new IDs; `taken(candidates)` returns those already in use."""
    result: list[str] = []
    chosen: set[str] = set()
    while len(result) < count:
        candidates = [random_identity_id(randbelow) for _ in range(count - len(result))]
        candidates = [c for c in dict.fromkeys(candidates) if c not in chosen]
        used = set(taken(candidates)) if candidates else set()
        for c in candidates:
            if c not in used:
                chosen.add(c)
                result.append(c)
    return result
